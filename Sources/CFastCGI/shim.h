#ifndef TASKD_CFASTCGI_SHIM_H
#define TASKD_CFASTCGI_SHIM_H
#include <fcgiapp.h>
#endif
