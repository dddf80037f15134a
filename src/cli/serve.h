/* src/cli/serve.h -- the entry point of the HTTP server (src/server/, doc/serving.md) as `sana serve`
 * (serve.c) calls it: the configuration from the options, and the run. */
#ifndef SANA_CLI_SERVE_H
#define SANA_CLI_SERVE_H

typedef struct {
    const char *model;   /* -m DIR */
    const char *host;    /* "127.0.0.1" */
    int port;            /* 7860; 0: any free port (the log line "listening on" says which) */
    const char *backend, *variant, *quantize; /* NULL: the defaults of sana_load_options */
    int low_memory, threads;
    const char *const *lora; /* --lora FILE[:SCALE] ..., merged at load */
    int nlora;
    int max_queue;       /* jobs waiting behind the running one, then 503 */
    const char *api_key; /* NULL: no authentication; else "Authorization: Bearer KEY" */
    int timeout;         /* seconds a connection may stay idle (reading a request, keep-alive) */
    int quiet;           /* no log lines */
} srv_config;

/* Serve until SIGTERM or SIGINT; returns the exit status (0 after a clean shutdown, 1 when the
 * pipeline or the socket fails). */
int srv_run(const srv_config *cfg);

#endif
