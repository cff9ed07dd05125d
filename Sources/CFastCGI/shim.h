#ifndef TASKD_CFASTCGI_SHIM_H
#define TASKD_CFASTCGI_SHIM_H
#include <fcgiapp.h>

/* taskd-fcgi accepts its connections itself and hands them to libfcgi. glibc declares accept4(2) only under
 * _GNU_SOURCE, which Swift's Glibc module is not built with; this is its prototype (socklen_t is unsigned int on
 * Linux), without including <sys/socket.h> here, which would take that header away from the Glibc module. */
struct sockaddr;
extern int accept4(int sockfd, struct sockaddr *addr, unsigned int *addrlen, int flags);
#endif
