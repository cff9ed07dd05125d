/*
 * The FastCGI ceiling of `make bench`: the least a libfcgi responder can do per request. Each of THREADS threads
 * loops on FCGX_Accept_r (libfcgi's own blocking accept, no accept mutex) and answers every request with the same
 * headers taskd sends on GET /tasks and a fixed JSON body of BODY_BYTES bytes. No parameter is looked at and no
 * body is read beyond what libfcgi reads to get the parameters.
 *
 * Usage: fcgi-ceiling SOCKET_PATH THREADS BODY_BYTES   (built by scripts/lib/bench-fcgi.sh with cc -O2 -lfcgi -pthread)
 */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int listen_socket;
static char *answer;
static int answer_length;

static void *serve(void *unused) {
    FCGX_Request request;
    (void)unused;
    if (FCGX_InitRequest(&request, listen_socket, 0) != 0) return NULL;
    while (FCGX_Accept_r(&request) >= 0) {
        FCGX_PutStr(answer, answer_length, request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s SOCKET_PATH THREADS BODY_BYTES\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    int body_bytes = atoi(argv[3]);
    if (threads < 1 || threads > 1024 || body_bytes < 2 || body_bytes > 1 << 20) return 2;

    /* An empty JSON object padded with spaces to exactly body_bytes. */
    char header[256];
    int header_length = snprintf(header, sizeof header,
        "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n"
        "Access-Control-Allow-Origin: *\r\n\r\n", body_bytes);
    answer_length = header_length + body_bytes;
    answer = malloc(answer_length);
    if (answer == NULL) return 1;
    memcpy(answer, header, header_length);
    memset(answer + header_length, ' ', body_bytes);
    answer[header_length] = '{';
    answer[answer_length - 1] = '}';

    if (FCGX_Init() != 0) return 1;
    /* FCGX_Init made SIGTERM set a flag that threads blocked in accept() never see: let it end the process. */
    signal(SIGTERM, SIG_DFL);
    listen_socket = FCGX_OpenSocket(argv[1], 1024);
    if (listen_socket < 0) return 1;
    pthread_t ids[1024];
    for (int index = 0; index < threads; index++) pthread_create(&ids[index], NULL, serve, NULL);
    for (int index = 0; index < threads; index++) pthread_join(ids[index], NULL);
    return 0;
}
