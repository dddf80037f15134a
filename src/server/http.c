/* src/server/http.c -- the daemon of `sana serve` on libmicrohttpd: a thread per connection (a
 * generation request waits in its thread while the worker runs the job), the limits that apply before
 * a route runs (body size, api key), idle and read timeouts (MHD_OPTION_CONNECTION_TIMEOUT), one log
 * line per request, and the shutdown: SIGTERM or SIGINT lets the running job finish and its answer
 * go out, refuses new jobs (503), then exits 0. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sana.h"
#include "server/server.h"

/* A body beyond SRV_MAX_BODY is read and dropped up to this much, so that the client reads the 413
 * (closing on a client still sending makes it see a reset instead); beyond it the connection closes. */
#define DRAIN_MAX (8 * 1024 * 1024)

static const srv_config *cfg;
static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static int active; /* requests between their first call and their completion */

/* One request. */
typedef struct {
    struct MHD_Connection *conn;
    double t0;
    char method[16], path[208];
    char *body;
    size_t len, seen;
    int decided;    /* pre holds the answer (from the headers alone) */
    srv_reply pre;
    int status;
    size_t sent;
    char note[200];
} req;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (cfg && cfg->quiet) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (char *s = line; *s; s++)
        if ((unsigned char)*s < 32) *s = ' ';
    fprintf(stderr, "sana: serve: %s\n", line);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    say("libmicrohttpd: %s", msg);
}

/* Printable copy of untrusted text for the log. */
static void copy_clean(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < n; i++) dst[i] = (unsigned char)src[i] < 32 || src[i] == 127 ? '?' : src[i];
    dst[i] = 0;
}

/* ------------------------------------------------------------------ checks from the headers */

/* Constant-time comparison of the Authorization header with "Bearer KEY". */
static int authorized(struct MHD_Connection *c)
{
    if (!cfg->api_key) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t n = strlen(h), k = strlen(cfg->api_key);
    unsigned diff = n != k;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)h[i] ^ (unsigned char)cfg->api_key[i % (k ? k : 1)];
    return diff == 0;
}

/* What can be answered before the body: 404, 405, 401, 413 (by Content-Length). 1 when answered. */
static int decide_early(req *x, struct MHD_Connection *c)
{
    if (srv_route_check(x->method, x->path, &x->pre) != 1) return 1;
    memset(&x->pre, 0, sizeof x->pre);
    if (strcmp(x->path, "/health") && !authorized(c)) {
        srv_reply_error(&x->pre, 401, "missing or wrong api key (Authorization: Bearer KEY)");
        return 1;
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > SRV_MAX_BODY) {
        srv_reply_error(&x->pre, 413, "body: %s bytes, more than the limit of %d", cl, SRV_MAX_BODY);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ the client, while its job waits */

static int client_gone(void *user)
{
    req *x = user;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(x->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return 1;
    char b;
    return recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* ------------------------------------------------------------------ answers */

static enum MHD_Result send_reply(struct MHD_Connection *c, req *x, srv_reply *r)
{
    snprintf(x->note, sizeof x->note, "%s", r->note);
    x->status = r->status;
    if (r->status == 499) { /* the client is gone: nothing to send */
        free(r->body);
        return MHD_NO;
    }
    struct MHD_Response *resp = r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
                                        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    char retry[16];
    if (r->retry_after > 0) {
        snprintf(retry, sizeof retry, "%d", r->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, retry);
    }
    if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->status == 401) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    x->sent = r->len;
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Append upload data to the body, or count it when it goes past the limit. */
static enum MHD_Result take_body(req *x, const char *data, size_t n)
{
    x->seen += n;
    if (x->seen > DRAIN_MAX) return MHD_NO;
    if (x->decided || x->seen > SRV_MAX_BODY) return MHD_YES;
    char *b = realloc(x->body, x->len + n + 1);
    if (!b) return MHD_NO;
    memcpy(b + x->len, data, n);
    x->body = b;
    x->len += n;
    x->body[x->len] = 0;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version;
    req *x = *con_cls;
    if (!x) {
        if (!(x = calloc(1, sizeof *x))) return MHD_NO;
        x->conn = c;
        x->t0 = now();
        copy_clean(x->method, sizeof x->method, method);
        copy_clean(x->path, sizeof x->path, url);
        pthread_mutex_lock(&count_mu);
        active++;
        pthread_mutex_unlock(&count_mu);
        *con_cls = x;
        x->decided = decide_early(x, c);
        return MHD_YES;
    }
    if (*upload_size) {
        enum MHD_Result ok = take_body(x, upload, *upload_size);
        *upload_size = 0;
        return ok;
    }
    srv_reply r;
    memset(&r, 0, sizeof r);
    if (x->decided) {
        r = x->pre;
        memset(&x->pre, 0, sizeof x->pre);
    } else if (x->seen > SRV_MAX_BODY) {
        srv_reply_error(&r, 413, "body: %zu bytes, more than the limit of %d", x->seen, SRV_MAX_BODY);
    } else {
        srv_route(x->method, x->path, x->body ? x->body : "", x->len, client_gone, x, &r);
    }
    return send_reply(c, x, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
    (void)cls;
    req *x = *con_cls;
    if (!x) return;
    char peer[64] = "?";
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, peer, sizeof peer);
    const char *end = why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
                      : why == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
                      : why == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client closed)"
                      : " (closed)";
    say("%s \"%s %s\" %d %zu B %.3f s%s%s%s", peer, x->method, x->path, x->status, x->sent, now() - x->t0,
        x->note[0] ? ": " : "", x->note, end);
    free(x->pre.body);
    free(x->body);
    free(x);
    *con_cls = NULL;
    pthread_mutex_lock(&count_mu);
    active--;
    pthread_mutex_unlock(&count_mu);
}

/* ------------------------------------------------------------------ the run */

static struct MHD_Daemon *start_daemon(struct sockaddr_in *sa)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    /* connections: those waiting in the queue, the running one, and room for health checks */
    unsigned limit = (unsigned)cfg->max_queue + 32;
    return MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout, MHD_OPTION_CONNECTION_LIMIT,
                            limit, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_END);
}

/* The watcher thread: takes SIGTERM / SIGINT (blocked in every thread, taken here) and stops the jobs;
 * says "ready" once the pipeline is loaded; ends when the worker has returned (watch_done). */
static sigset_t watch_set;
static volatile int watch_done;
static double t_start;

static void *watch(void *arg)
{
    (void)arg;
    int ready = 0;
    while (!watch_done) {
        struct timespec ts = {0, 100 * 1000000L};
        int sig = sigtimedwait(&watch_set, NULL, &ts);
        if (sig > 0) {
            say("%s: finishing the running job, refusing new ones", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            srv_jobs_stop();
            return NULL;
        }
        srv_status st;
        if (!ready && (srv_jobs_status(&st), st.loaded)) {
            ready = 1;
            say("ready: %s (%s, backend %s, sampler %s, %dpx) loaded in %.2f s", cfg->model, st.class_name,
                st.backend, st.sampler, st.default_size, now() - t_start);
        }
    }
    return NULL;
}

int srv_run(const srv_config *c)
{
    cfg = c;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->port);
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1) {
        fprintf(stderr, "sana: error: --host: \"%s\" is not an IPv4 address (e.g. 127.0.0.1)\n", c->host);
        return 2;
    }
    sigemptyset(&watch_set);
    sigaddset(&watch_set, SIGTERM);
    sigaddset(&watch_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &watch_set, NULL); /* before any thread starts: they all inherit it */
    signal(SIGPIPE, SIG_IGN);
    t_start = now();
    srv_jobs_init(c);
    struct MHD_Daemon *d = start_daemon(&sa);
    if (!d) {
        fprintf(stderr, "sana: error: cannot listen on %s:%d: %s\n", c->host, c->port, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    say("listening on http://%s:%u/ (loading %s)", c->host, di ? di->port : (unsigned)c->port, c->model);
    pthread_t watcher;
    int watching = pthread_create(&watcher, NULL, watch, NULL) == 0;
    int rc = 0;
    char err[512];
    if (!watching) {
        fprintf(stderr, "sana: error: cannot start a thread\n");
        rc = 1;
    } else {
        srv_jobs_work(); /* until SIGTERM (or a failed load) */
        if (srv_jobs_load_failed(err, sizeof err)) fprintf(stderr, "sana: error: %s\n", err), rc = 1;
        watch_done = 1;
        pthread_join(watcher, NULL);
    }
    srv_jobs_stop();
    for (int i = 0; i < 300; i++) { /* at most 30 s for the last answers to go out */
        pthread_mutex_lock(&count_mu);
        int n = active;
        pthread_mutex_unlock(&count_mu);
        if (n == 0) break;
        usleep(100 * 1000);
    }
    MHD_stop_daemon(d);
    srv_jobs_close();
    say("stopped");
    return rc;
}
