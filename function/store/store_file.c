/*
 * store_file.c: the embedded store backend, a local directory (docs/design.md
 * §10). Object "a/b/c" is the file <root>/a/b/c.
 *
 * A create writes an unnamed file (O_TMPFILE), fsyncs it and links it to its
 * final name; where the filesystem or the process's privileges cannot, it
 * writes a temp file under <root>/.tmp and renames it with RENAME_NOREPLACE, or
 * links and unlinks it (the first that works, chosen at open). Every one of
 * them fails with EEXIST when the name exists, so exactly one of any number of
 * concurrent creators wins, across threads and processes sharing the
 * directory, and a reader never sees a partial object. Objects
 * are 0600 and folders 0700 (leads are PII; nobody else on the machine reads
 * them); a folder made for an object is fsync'd into its parent before the
 * object is acknowledged.
 *
 * Disk I/O blocks, so on a disk it never runs on an event loop: a few worker
 * threads take operations from a queue and post each completion back to the
 * loop that submitted it (cw_loop_post), where the caller's callback runs.
 * A folder in memory (tmpfs, ramfs) cannot block and has nothing to make
 * durable (its fsync does nothing): there, create, get and delete run on the
 * caller's thread without any fsync, and their completion is delivered by a
 * zero-delay timer on the same loop, later in the same loop iteration, never
 * from inside the call (docs/design.md §10). Listing walks folders of any
 * size, so it stays on a thread everywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include "cw/log.h"
#include "cw/util.h"
#include "store.h"

#define NUM_WORKERS 4
#define MAX_OBJECT_BYTES CW_STORE_FILE_MAX_OBJECT_BYTES
#define MAX_NAME_LEN 512
#define TMP_DIR ".tmp"
#define TMP_MAX_AGE_S 3600
#define TMP_NAME_SIZE 64 /* ".tmp/" + 32 hex digits + suffix + NUL */

typedef struct st_file_op_t file_op_t;

typedef struct st_file_store_t {
    cw_store_t super;
    char *dir;                   /* never NULL; as configured */
    int root_fd;                 /* the directory, opened once; every path is relative to it */
    int in_memory;               /* tmpfs or ramfs: no fsync; create, get and delete run on the caller's thread */
    cw_file_create_t create_how; /* how a written object is given its name (probed at open) */
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    pthread_mutex_t folders; /* held while a folder is made and synced into its parent (make_parents) */
    file_op_t *head;         /* queue of submitted operations; NULL when empty */
    file_op_t **tail;
    int stopping;
    pthread_t workers[NUM_WORKERS];
    size_t num_workers;
} file_store_t;

struct st_file_op_t {
    cw_loop_msg_t msg; /* first: the completion is posted to |loop| as this message */
    cw_timer_t timer;  /* in memory: the completion is delivered by this zero-delay timer instead */
    file_op_t *next;
    file_store_t *fs;
    cw_loop_t *loop;
    cw_store_op_t op;
    cw_store_cb cb;
    void *cb_data;
    char *name; /* never NULL; the object name or the list prefix (borrowed while an operation runs inline) */
    char *data; /* create: the body to write (borrowed inline); get: the bytes read (NUL-terminated); else NULL */
    size_t data_len;
    size_t max_names; /* list */
    /* the outcome, filled by a worker */
    cw_store_status_t status;
    char **names; /* list: sorted, owned */
    size_t num_names;
    char detail[MAX_NAME_LEN + 160];
};

/* ---- outcomes ---- */

static void set_status(file_op_t *op, cw_store_status_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_status(file_op_t *op, cw_store_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    op->status = status;
    vsnprintf(op->detail, sizeof(op->detail), fmt, ap);
    va_end(ap);
}

/* set_ok records a success; |detail| is a short constant (no formatting on the common path). */
static void set_ok(file_op_t *op, const char *detail)
{
    op->status = CW_STORE_OK;
    size_t len = strlen(detail);
    memcpy(op->detail, detail, len + 1);
}

/* set_errno_status records a failed system call: permission problems are
 * permanent (DENIED), everything else (EIO, ENOSPC, EMFILE, ...) may pass. */
static void set_errno_status(file_op_t *op, const char *what, int err)
{
    cw_store_status_t status = CW_STORE_UNAVAILABLE;
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENAMETOOLONG:
        status = CW_STORE_DENIED;
        break;
    default:
        break;
    }
    char msg[128];
    set_status(op, status, "file store: %s %s: %s", what, op->name, strerror_r(err, msg, sizeof(msg)));
}

/* ---- small helpers on the root directory ---- */

static int write_all(int fd, const char *p, size_t len)
{
    while (len != 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync_dir makes the entries of |path| (relative to the root) durable.
 * Returns 0, or -1 with errno set. Filesystems that cannot sync a directory
 * (EINVAL) are taken at their word; a folder in memory has nothing to sync. */
static int fsync_dir(file_store_t *fs, const char *path)
{
    if (fs->in_memory) {
        return 0;
    }
    int fd = openat(fs->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int ret = fsync(fd);
    int saved = errno;
    close(fd);
    if (ret != 0 && saved == EINVAL) {
        ret = 0;
    }
    errno = saved;
    return ret;
}

/* fsync_parent syncs the directory holding |name| ("." for the root). */
static int fsync_parent(file_store_t *fs, const char *name)
{
    if (fs->in_memory) {
        return 0;
    }
    const char *slash = strrchr(name, '/');
    if (slash == NULL) {
        return fsync_dir(fs, ".");
    }
    char parent[MAX_NAME_LEN + 1];
    size_t len = (size_t)(slash - name);
    if (len >= sizeof(parent)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, name, len);
    parent[len] = '\0';
    return fsync_dir(fs, parent);
}

/* make_parents creates every folder above |name| (mkdir -p, mode 0700), syncing
 * the folder that holds each new one, all under fs->folders (see
 * wait_folders_synced). Returns 0, or -1 with errno set. */
static int make_parents(file_store_t *fs, const char *name)
{
    char path[MAX_NAME_LEN + 1];
    size_t name_len = strlen(name);
    int ret = 0;
    if (name_len >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pthread_mutex_lock(&fs->folders);
    for (const char *slash = strchr(name, '/'); slash != NULL && ret == 0; slash = strchr(slash + 1, '/')) {
        size_t len = (size_t)(slash - name);
        memcpy(path, name, len);
        path[len] = '\0';
        if (mkdirat(fs->root_fd, path, 0700) == 0) {
            ret = fsync_parent(fs, path);
        } else if (errno != EEXIST) {
            ret = -1;
        }
    }
    int saved = errno;
    pthread_mutex_unlock(&fs->folders);
    errno = saved;
    return ret;
}

/* wait_folders_synced returns once no folder is between its mkdir and the fsync
 * of its parent. An object linked into a folder another thread has just made
 * must not be acknowledged before that folder's own entry is durable: the
 * folder exists from its mkdir on, but a crash before the parent's fsync would
 * lose it with the object. Folders are made only under fs->folders, so taking
 * it once is the barrier (within this process: a directory shared by several
 * processes is not the file store's use). */
static void wait_folders_synced(file_store_t *fs)
{
    if (fs->in_memory) {
        return; /* nothing is synced: a folder exists from its mkdir on */
    }
    pthread_mutex_lock(&fs->folders);
    pthread_mutex_unlock(&fs->folders);
}

/* temp_name writes a fresh random ".tmp/<hex><suffix>" into |out|. */
static void temp_name(char *out, size_t out_size, const char *suffix)
{
    uint8_t rnd[16];
    char hex[sizeof(rnd) * 2 + 1];
    cw_random_bytes(rnd, sizeof(rnd));
    cw_hex_encode(hex, rnd, sizeof(rnd));
    snprintf(out, out_size, TMP_DIR "/%s%s", hex, suffix);
}

/* create_temp opens a new temp file for writing, its name in |out| (at least
 * TMP_NAME_SIZE bytes). Returns the descriptor, or -1 with errno set. */
static int create_temp(int root_fd, char *out, const char *suffix)
{
    for (int attempt = 0; attempt != 4; ++attempt) {
        temp_name(out, TMP_NAME_SIZE, suffix);
        int fd = openat(root_fd, out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            return fd;
        }
        if (errno == ENOENT) {
            /* someone removed .tmp under us: put it back */
            if (mkdirat(root_fd, TMP_DIR, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
        } else if (errno != EEXIST) {
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

static int is_reserved(const char *name)
{
    size_t len = strlen(name), tmp_len = sizeof(TMP_DIR) - 1;
    return len >= tmp_len && memcmp(name, TMP_DIR, tmp_len) == 0 && (len == tmp_len || name[tmp_len] == '/');
}

/* ---- the operations, run on a worker thread ---- */

static int unnamed(const file_store_t *fs)
{
    return fs->create_how == CW_FILE_CREATE_LINK_FD || fs->create_how == CW_FILE_CREATE_LINK_PROC;
}

/* open_unnamed opens a new file without a name in the root folder. Returns the descriptor, or -1 with errno set. */
static int open_unnamed(const file_store_t *fs)
{
    return openat(fs->root_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

/* publish gives the written file (|fd| unnamed, or the temp file |tmp|) the name |name|, unless that name exists
 * (EEXIST). Returns 0, or -1 with errno set. */
static int publish(const file_store_t *fs, int fd, const char *tmp, const char *name)
{
    char proc[32];
    switch (fs->create_how) {
    case CW_FILE_CREATE_LINK_FD:
        return linkat(fd, "", fs->root_fd, name, AT_EMPTY_PATH);
    case CW_FILE_CREATE_LINK_PROC:
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        return linkat(AT_FDCWD, proc, fs->root_fd, name, AT_SYMLINK_FOLLOW);
    case CW_FILE_CREATE_RENAME:
        return renameat2(fs->root_fd, tmp, fs->root_fd, name, RENAME_NOREPLACE);
    case CW_FILE_CREATE_LINK:
        break;
    }
    return linkat(fs->root_fd, tmp, fs->root_fd, name, 0);
}

static void do_create(file_store_t *fs, file_op_t *op)
{
    char tmp[TMP_NAME_SIZE];
    int fd = -1, have_tmp = 0;

    if (is_reserved(op->name)) {
        set_status(op, CW_STORE_DENIED, "file store: the name %s is reserved", op->name);
        goto Exit;
    }
    /* A name that exists already needs no file, write or fsync to be refused (the claim of a duplicate callback
     * is a create): one system call for a new object, four or more spared for a duplicate (a duplicate storm is
     * when this matters). publish() below stays the authority for names that appear meanwhile. */
    if (faccessat(fs->root_fd, op->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
        set_status(op, CW_STORE_EXISTS, "file store: %s exists", op->name);
        goto Exit;
    }
    if (unnamed(fs)) {
        if ((fd = open_unnamed(fs)) < 0) {
            set_errno_status(op, "create a file for", errno);
            goto Exit;
        }
    } else {
        if ((fd = create_temp(fs->root_fd, tmp, "")) < 0) {
            set_errno_status(op, "create temp file for", errno);
            goto Exit;
        }
        have_tmp = 1;
    }
    if (write_all(fd, op->data, op->data_len) != 0) {
        set_errno_status(op, "write", errno);
        goto Exit;
    }
    if (!fs->in_memory && fsync(fd) != 0) {
        set_errno_status(op, "fsync", errno);
        goto Exit;
    }
    int ret;
    if (have_tmp) {
        ret = close(fd);
        fd = -1;
        if (ret != 0) {
            set_errno_status(op, "close", errno);
            goto Exit;
        }
    }

    /* Folders are made only when missing: most creates land in existing ones. */
    ret = publish(fs, fd, tmp, op->name);
    for (int attempt = 0; ret != 0 && errno == ENOENT && attempt != 2; ++attempt) {
        if (make_parents(fs, op->name) != 0) {
            break;
        }
        ret = publish(fs, fd, tmp, op->name);
    }
    if (ret != 0) {
        if (errno == EEXIST) {
            set_status(op, CW_STORE_EXISTS, "file store: %s exists", op->name);
        } else if (errno == ENOTDIR) {
            set_status(op, CW_STORE_DENIED, "file store: a folder of %s is an object", op->name);
        } else {
            set_errno_status(op, "link", errno);
        }
        goto Exit;
    }
    have_tmp = fs->create_how == CW_FILE_CREATE_LINK; /* a rename took the temp name with it */
    wait_folders_synced(fs);
    if (fsync_parent(fs, op->name) != 0) {
        /* created, but maybe not durable: a retry answers EXISTS, which the
         * event protocol resolves with its claim token */
        set_errno_status(op, "fsync the folder of", errno);
        goto Exit;
    }
    set_ok(op, "created");

Exit:
    if (fd >= 0) {
        close(fd); /* an unnamed file's data is synced (or in memory) before its link: nothing left to fail */
    }
    if (have_tmp) {
        unlinkat(fs->root_fd, tmp, 0);
    }
}

static void do_get(file_store_t *fs, file_op_t *op)
{
    struct stat st;
    int fd = -1;
    char *buf = NULL;

    /* O_NONBLOCK: a stray FIFO must not hang a worker (it has no effect on files) */
    if ((fd = openat(fs->root_fd, op->name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)) < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            set_status(op, CW_STORE_NOT_FOUND, "file store: no object %s", op->name);
        } else if (errno == ELOOP) {
            set_status(op, CW_STORE_DENIED, "file store: %s is a symbolic link", op->name);
        } else {
            set_errno_status(op, "open", errno);
        }
        goto Exit;
    }
    if (fstat(fd, &st) != 0) {
        set_errno_status(op, "stat", errno);
        goto Exit;
    }
    if (!S_ISREG(st.st_mode)) {
        set_status(op, CW_STORE_NOT_FOUND, "file store: %s is a folder, not an object", op->name);
        goto Exit;
    }
    if ((uint64_t)st.st_size > MAX_OBJECT_BYTES) {
        set_status(op, CW_STORE_DENIED, "file store: %s is larger than %zu bytes", op->name, MAX_OBJECT_BYTES);
        goto Exit;
    }
    /* read to EOF rather than trusting st_size; one spare byte detects growth */
    size_t cap = (size_t)st.st_size + 1, len = 0;
    buf = cw_malloc(cap + 1);
    for (;;) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            set_errno_status(op, "read", errno);
            goto Exit;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len == cap) {
            if (cap > MAX_OBJECT_BYTES) {
                set_status(op, CW_STORE_DENIED, "file store: %s is larger than %zu bytes", op->name, MAX_OBJECT_BYTES);
                goto Exit;
            }
            cap = cap * 2 > MAX_OBJECT_BYTES + 1 ? MAX_OBJECT_BYTES + 1 : cap * 2;
            buf = cw_realloc(buf, cap + 1);
        }
    }
    buf[len] = '\0';
    op->data = buf;
    op->data_len = len;
    buf = NULL;
    set_ok(op, "read");

Exit:
    free(buf);
    if (fd >= 0) {
        close(fd);
    }
}

static void do_delete(file_store_t *fs, file_op_t *op)
{
    if (unlinkat(fs->root_fd, op->name, 0) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            set_status(op, CW_STORE_NOT_FOUND, "file store: no object %s", op->name);
        } else if (errno == EISDIR) {
            set_status(op, CW_STORE_NOT_FOUND, "file store: %s is a folder, not an object", op->name);
        } else {
            set_errno_status(op, "unlink", errno);
        }
        return;
    }
    if (fsync_parent(fs, op->name) != 0) {
        set_errno_status(op, "fsync the folder of", errno);
        return;
    }
    set_ok(op, "deleted");
}

typedef struct st_name_list_t {
    char **names;
    size_t num_names;
    size_t cap_names;
} name_list_t;

static int is_object_name(const char *name)
{
    for (const char *p = name; *p != '\0'; ++p) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '/' ||
              c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* walk adds the objects under the folder |dir_fd| (which it closes), whose
 * name is |path| (|path_len| bytes, "" or ending in '/'), that start with
 * |prefix|. Returns 0, or -1 with errno set. */
static int walk(int dir_fd, char *path, size_t path_len, const char *prefix, name_list_t *out)
{
    size_t prefix_len = strlen(prefix);
    int ret = -1;
    DIR *dir = fdopendir(dir_fd);
    if (dir == NULL) {
        close(dir_fd);
        return -1;
    }
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(dir);
        if (ent == NULL) {
            if (errno != 0) {
                goto Exit;
            }
            break;
        }
        const char *d = ent->d_name;
        size_t d_len = strlen(d);
        if (strcmp(d, ".") == 0 || strcmp(d, "..") == 0 || (path_len == 0 && strcmp(d, TMP_DIR) == 0)) {
            continue;
        }
        if (path_len + d_len + 1 > MAX_NAME_LEN) {
            continue; /* not one of ours */
        }
        memcpy(path + path_len, d, d_len + 1);
        size_t len = path_len + d_len;
        unsigned char type = ent->d_type;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(dirfd(dir), d, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) {
                    continue; /* deleted while we looked */
                }
                goto Exit;
            }
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_LNK;
        }
        if (type == DT_REG) {
            if (len >= prefix_len && memcmp(path, prefix, prefix_len) == 0 && is_object_name(path)) {
                if (out->num_names == out->cap_names) {
                    out->cap_names = out->cap_names == 0 ? 64 : out->cap_names * 2;
                    out->names = cw_realloc(out->names, out->cap_names * sizeof(*out->names));
                }
                out->names[out->num_names++] = cw_strndup(path, len);
            }
        } else if (type == DT_DIR) {
            /* descend only where names can still match: "<path>/" and the
             * prefix must agree on their common length */
            path[len] = '/';
            path[len + 1] = '\0';
            size_t common = len + 1 < prefix_len ? len + 1 : prefix_len;
            if (memcmp(path, prefix, common) == 0) {
                int sub_fd = openat(dirfd(dir), d, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub_fd < 0) {
                    if (errno == ENOENT) {
                        continue;
                    }
                    goto Exit;
                }
                if (walk(sub_fd, path, len + 1, prefix, out) != 0) {
                    goto Exit;
                }
            }
        }
    }
    ret = 0;

Exit : {
    int saved = errno;
    closedir(dir);
    errno = saved;
}
    return ret;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void do_list(file_store_t *fs, file_op_t *op)
{
    name_list_t list = {NULL, 0, 0};
    char path[MAX_NAME_LEN + 2];

    /* start in the deepest folder the prefix names: "events/ab" walks events/ */
    const char *slash = strrchr(op->name, '/');
    size_t path_len = slash != NULL ? (size_t)(slash - op->name) + 1 : 0;
    if (path_len + 1 > sizeof(path)) {
        set_status(op, CW_STORE_DENIED, "file store: prefix too long");
        goto Exit;
    }
    memcpy(path, op->name, path_len);
    path[path_len] = '\0';
    if (is_reserved(path)) {
        set_status(op, CW_STORE_OK, "listed"); /* the temp files are no objects */
        goto Exit;
    }
    int fd = openat(fs->root_fd, path_len == 0 ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            set_status(op, CW_STORE_OK, "listed");
        } else {
            set_errno_status(op, "list", errno);
        }
        goto Exit;
    }
    if (walk(fd, path, path_len, op->name, &list) != 0) {
        set_errno_status(op, "list", errno);
        goto Exit;
    }
    if (list.num_names > 1) {
        qsort(list.names, list.num_names, sizeof(*list.names), compare_names);
    }
    while (list.num_names > op->max_names) {
        free(list.names[--list.num_names]);
    }
    op->names = list.names;
    op->num_names = list.num_names;
    list.names = NULL;
    list.num_names = 0;
    set_status(op, CW_STORE_OK, "listed");

Exit:
    for (size_t i = 0; i != list.num_names; ++i) {
        free(list.names[i]);
    }
    free(list.names);
}

/* ---- queue, workers and completions ---- */

static void run_op(file_store_t *fs, file_op_t *op)
{
    switch (op->op) {
    case CW_STORE_OP_CREATE:
        do_create(fs, op);
        break;
    case CW_STORE_OP_GET:
        do_get(fs, op);
        break;
    case CW_STORE_OP_DELETE:
        do_delete(fs, op);
        break;
    case CW_STORE_OP_LIST:
        do_list(fs, op);
        break;
    }
}

static void *worker_main(void *arg)
{
    file_store_t *fs = arg;
    /* Batch scheduling: an I/O thread finishing does not preempt the event loop that is serving requests. */
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);

    pthread_mutex_lock(&fs->mutex);
    for (;;) {
        while (fs->head == NULL && !fs->stopping) {
            pthread_cond_wait(&fs->cond, &fs->mutex);
        }
        file_op_t *op = fs->head;
        if (op == NULL) {
            break; /* stopping, and the queue is drained */
        }
        if ((fs->head = op->next) == NULL) {
            fs->tail = &fs->head;
        }
        pthread_mutex_unlock(&fs->mutex);

        run_op(fs, op);
        if (op->op == CW_STORE_OP_CREATE) {
            free(op->data); /* the body: a get's reply reuses the field */
            op->data = NULL;
            op->data_len = 0;
        }
        cw_loop_post(op->loop, &op->msg);

        pthread_mutex_lock(&fs->mutex);
    }
    pthread_mutex_unlock(&fs->mutex);
    return NULL;
}

static void free_op(file_op_t *op)
{
    for (size_t i = 0; i != op->num_names; ++i) {
        free(op->names[i]);
    }
    free(op->names);
    free(op->data);
    free(op->name);
    free(op);
}

/* on_done runs on the submitting loop's thread. */
static void on_done(cw_loop_msg_t *msg)
{
    file_op_t *op = (file_op_t *)msg;
    cw_store_result_t res = {
        .status = op->status,
        .data = op->op == CW_STORE_OP_GET && op->status == CW_STORE_OK ? op->data : NULL,
        .data_len = op->op == CW_STORE_OP_GET && op->status == CW_STORE_OK ? op->data_len : 0,
        .names = op->op == CW_STORE_OP_LIST && op->status == CW_STORE_OK ? op->names : NULL,
        .num_names = op->op == CW_STORE_OP_LIST && op->status == CW_STORE_OK ? op->num_names : 0,
        .detail = op->detail,
    };
    if (op->cb != NULL) {
        op->cb(&res, op->cb_data);
    }
    free_op(op);
}

static void on_inline_done(cw_timer_t *timer)
{
    file_op_t *op = H2O_STRUCT_FROM_MEMBER(file_op_t, timer, timer);
    on_done(&op->msg);
}

static int runs_inline(file_store_t *fs, cw_store_op_t kind)
{
    return fs->in_memory && kind != CW_STORE_OP_LIST;
}

/* new_op makes an operation; one that runs inline borrows |name| (it is done before the caller's call returns). */
static file_op_t *new_op(cw_store_t *store, cw_loop_t *loop, cw_store_op_t kind, const char *name, cw_store_cb cb, void *data)
{
    file_op_t *op = cw_calloc(1, sizeof(*op));
    op->msg.cb = on_done;
    op->fs = (file_store_t *)store;
    op->loop = loop;
    op->op = kind;
    op->cb = cb;
    op->cb_data = data;
    op->name = runs_inline(op->fs, kind) ? (char *)name : cw_strdup(name);
    op->status = CW_STORE_UNAVAILABLE;
    memcpy(op->detail, "file store: not run", sizeof("file store: not run"));
    return op;
}

/* submit runs an operation on a folder in memory at once, on this thread, and delivers its completion
 * from a zero-delay timer of the caller's loop (never from inside the call); anything else it queues
 * for the I/O threads: a short critical section, never any I/O. */
static void submit(file_op_t *op)
{
    file_store_t *fs = op->fs;
    if (runs_inline(fs, op->op)) {
        run_op(fs, op);
        op->name = NULL; /* borrowed */
        if (op->op == CW_STORE_OP_CREATE) {
            op->data = NULL; /* borrowed: the caller's body */
            op->data_len = 0;
        }
        cw_timer_start(op->loop, &op->timer, 0, on_inline_done);
        return;
    }
    pthread_mutex_lock(&fs->mutex);
    *fs->tail = op;
    fs->tail = &op->next;
    pthread_mutex_unlock(&fs->mutex);
    /* Signalled after unlocking: the woken thread does not block straight away on our mutex. */
    pthread_cond_signal(&fs->cond);
}

static void file_create(cw_store_t *store, cw_loop_t *loop, const char *name, const void *body, size_t body_len, cw_store_cb cb,
                        void *data)
{
    file_op_t *op = new_op(store, loop, CW_STORE_OP_CREATE, name, cb, data);
    if (runs_inline(op->fs, CW_STORE_OP_CREATE)) {
        op->data = (char *)body; /* borrowed: written before this call returns */
    } else {
        op->data = cw_malloc(body_len);
        if (body_len != 0) {
            memcpy(op->data, body, body_len);
        }
    }
    op->data_len = body_len;
    submit(op);
}

static void file_get(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    submit(new_op(store, loop, CW_STORE_OP_GET, name, cb, data));
}

static void file_del(cw_store_t *store, cw_loop_t *loop, const char *name, cw_store_cb cb, void *data)
{
    submit(new_op(store, loop, CW_STORE_OP_DELETE, name, cb, data));
}

static void file_list(cw_store_t *store, cw_loop_t *loop, const char *prefix, size_t max_names, cw_store_cb cb, void *data)
{
    file_op_t *op = new_op(store, loop, CW_STORE_OP_LIST, prefix, cb, data);
    op->max_names = max_names;
    submit(op);
}

static void file_destroy(cw_store_t *store)
{
    file_store_t *fs = (file_store_t *)store;

    pthread_mutex_lock(&fs->mutex);
    fs->stopping = 1;
    pthread_cond_broadcast(&fs->cond);
    pthread_mutex_unlock(&fs->mutex);
    for (size_t i = 0; i != fs->num_workers; ++i) {
        pthread_join(fs->workers[i], NULL);
    }
    pthread_cond_destroy(&fs->cond);
    pthread_mutex_destroy(&fs->mutex);
    pthread_mutex_destroy(&fs->folders);
    if (fs->root_fd >= 0) {
        close(fs->root_fd);
    }
    free(fs->super.url);
    free(fs->dir);
    free(fs);
}

static const cw_store_backend_t file_backend = {
    .name = "file",
    .create = file_create,
    .get = file_get,
    .del = file_del,
    .list = file_list,
    .destroy = file_destroy,
};

/* ---- opening ---- */

/* mkdir_p creates |dir| and its parents. Returns 0, or -1 with errno set. */
static int mkdir_p(const char *dir)
{
    char path[PATH_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; ++i) {
        if (path[i] == '/' || path[i] == '\0') {
            char saved = path[i];
            path[i] = '\0';
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            path[i] = saved;
        }
    }
    return 0;
}

/* clean_temps removes temp files an hour old: leftovers of crashed creates. */
static void clean_temps(int root_fd, const char *dir_name)
{
    int fd = openat(root_fd, TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return;
    }
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        return;
    }
    time_t cutoff = time(NULL) - TMP_MAX_AGE_S;
    long removed = 0;
    struct dirent *ent;
    while ((ent = readdir(dir)) != NULL) {
        struct stat st;
        if (ent->d_name[0] == '.' || fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (st.st_mtime < cutoff && unlinkat(dirfd(dir), ent->d_name, 0) == 0) {
            ++removed;
        }
    }
    closedir(dir);
    if (removed != 0) {
        cw_logf(CW_LOG_INFO, "file store %s: removed %ld stale temp files", dir_name, removed);
    }
}

/* probe_create finds how this directory creates (cw_file_create_t), the first that works: an unnamed file
 * linked by descriptor or through /proc, else a temp file renamed with RENAME_NOREPLACE (which must refuse
 * an existing name), else a temp file linked. |tmp| is a written temp file; |linked| a free name. */
static cw_file_create_t probe_create(file_store_t *fs, const char *tmp, const char *linked)
{
    int fd = open_unnamed(fs);
    if (fd >= 0) {
        if (write_all(fd, "probe", 5) == 0) {
            static const cw_file_create_t order[] = {CW_FILE_CREATE_LINK_FD, CW_FILE_CREATE_LINK_PROC};
            for (size_t i = 0; i != sizeof(order) / sizeof(order[0]); ++i) {
                fs->create_how = order[i];
                if (publish(fs, fd, NULL, linked) == 0) {
                    unlinkat(fs->root_fd, linked, 0);
                    close(fd);
                    return order[i];
                }
            }
        }
        close(fd);
    }
    char second[TMP_NAME_SIZE];
    int second_fd = create_temp(fs->root_fd, second, ".probe");
    cw_file_create_t how = CW_FILE_CREATE_LINK;
    if (second_fd >= 0) {
        close(second_fd);
        /* the rename must move a file, then refuse to replace it; the file goes back to its temp name */
        if (renameat2(fs->root_fd, tmp, fs->root_fd, linked, RENAME_NOREPLACE) == 0) {
            if (renameat2(fs->root_fd, second, fs->root_fd, linked, RENAME_NOREPLACE) != 0 && errno == EEXIST) {
                how = CW_FILE_CREATE_RENAME;
            }
            renameat2(fs->root_fd, linked, fs->root_fd, tmp, 0);
        }
        unlinkat(fs->root_fd, second, 0);
    }
    return how;
}

/* probe proves at start that the directory takes new files, fsync and a create-only naming, and sets
 * fs->create_how: better a clear message now than a failing create later. Returns 0, or -1 with |what|
 * naming the failing step and errno set. */
static int probe(file_store_t *fs, const char **what)
{
    char tmp[TMP_NAME_SIZE], linked[TMP_NAME_SIZE];
    int ret = -1, fd;

    *what = "create a file";
    if ((fd = create_temp(fs->root_fd, tmp, ".probe")) < 0) {
        return -1;
    }
    temp_name(linked, sizeof(linked), ".probe");
    if (write_all(fd, "probe", 5) != 0 || fsync(fd) != 0) {
        *what = "write and fsync a file";
        goto Exit;
    }
    fs->create_how = probe_create(fs, tmp, linked);
    if (fs->create_how == CW_FILE_CREATE_LINK) {
        if (linkat(fs->root_fd, tmp, fs->root_fd, linked, 0) != 0) {
            *what = "hard-link a file";
            goto Exit;
        }
        unlinkat(fs->root_fd, linked, 0);
    }
    ret = 0;

Exit : {
    int saved = errno;
    close(fd);
    unlinkat(fs->root_fd, tmp, 0);
    errno = saved;
}
    return ret;
}

/* in_memory tells a folder whose files live in memory: its I/O never blocks and its fsync does nothing. */
static int in_memory(int fd)
{
    struct statfs st;
    if (fstatfs(fd, &st) != 0) {
        return 0;
    }
    return st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC;
}

const char *cw_file_create_name(cw_file_create_t how)
{
    switch (how) {
    case CW_FILE_CREATE_LINK_FD:
        return "link-fd";
    case CW_FILE_CREATE_LINK_PROC:
        return "link-proc";
    case CW_FILE_CREATE_RENAME:
        return "rename";
    case CW_FILE_CREATE_LINK:
        break;
    }
    return "link";
}

cw_file_create_t cw_store_file_create_mode(const cw_store_t *store)
{
    return store->backend == &file_backend ? ((const file_store_t *)store)->create_how : CW_FILE_CREATE_LINK;
}

void cw_store_file_force_create(cw_store_t *store, cw_file_create_t how)
{
    if (store->backend == &file_backend) {
        ((file_store_t *)store)->create_how = how;
    }
}

cw_store_t *cw_store_file_open(const char *dir, char *err, size_t err_size)
{
    file_store_t *fs = NULL;
    char msg[128];
    const char *what;

    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, err_size, "file store: no directory given");
        goto Error;
    }
    if (mkdir_p(dir) != 0) {
        snprintf(err, err_size, "file store: cannot create directory %s: %s", dir, strerror_r(errno, msg, sizeof(msg)));
        goto Error;
    }
    fs = cw_calloc(1, sizeof(*fs));
    fs->root_fd = -1;
    if ((fs->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(err, err_size, "file store: cannot open directory %s: %s", dir, strerror_r(errno, msg, sizeof(msg)));
        goto Error;
    }
    if (mkdirat(fs->root_fd, TMP_DIR, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "file store: cannot create %s/" TMP_DIR ": %s", dir, strerror_r(errno, msg, sizeof(msg)));
        goto Error;
    }
    clean_temps(fs->root_fd, dir);
    if (probe(fs, &what) != 0) {
        snprintf(err, err_size, "file store: directory %s is not usable: cannot %s: %s", dir, what,
                 strerror_r(errno, msg, sizeof(msg)));
        goto Error;
    }

    fs->super.backend = &file_backend;
    fs->super.http = NULL;
    size_t url_len = strlen("file:") + strlen(dir) + 1;
    fs->super.url = cw_malloc(url_len);
    snprintf(fs->super.url, url_len, "file:%s", dir);
    fs->dir = cw_strdup(dir);
    fs->in_memory = in_memory(fs->root_fd);
    fs->tail = &fs->head;
    cw_logf(CW_LOG_DEBUG, "file store %s: %s; creates by %s", dir,
            fs->in_memory ? "in memory (no fsync, operations on the calling loop)" : "on a disk (fsync, I/O threads)",
            cw_file_create_name(fs->create_how));
    pthread_mutex_init(&fs->mutex, NULL);
    pthread_cond_init(&fs->cond, NULL);
    pthread_mutex_init(&fs->folders, NULL);

    /* workers take no signals: SIGTERM and friends belong to the main thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (; fs->num_workers != NUM_WORKERS; ++fs->num_workers) {
        if ((rc = pthread_create(&fs->workers[fs->num_workers], NULL, worker_main, fs)) != 0) {
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        snprintf(err, err_size, "file store: cannot start I/O threads: %s", strerror_r(rc, msg, sizeof(msg)));
        file_destroy(&fs->super);
        return NULL;
    }
    return &fs->super;

Error:
    if (fs != NULL) {
        if (fs->root_fd >= 0) {
            close(fs->root_fd);
        }
        free(fs);
    }
    return NULL;
}
