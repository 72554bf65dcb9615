/*
 * azure_sig.c: Shared Key StringToSign, its HMAC, and connection strings.
 * Reference: "Authorize with Shared Key" in the Azure Storage REST docs.
 */
#include "azure_sig.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/base64.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/sha.h>

/* Azurite's well-known development account, published in Microsoft's documentation. */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

typedef struct st_kv_t {
    char *name;
    char *value;
} kv_t;

int cw_azure_decode_key(const char *b64, uint8_t **out, size_t *out_len)
{
    size_t b64_len = strlen(b64), max_len;
    *out = NULL;
    *out_len = 0;
    if (b64_len == 0 || !EVP_DecodedLength(&max_len, b64_len)) {
        return -1;
    }
    uint8_t *key = cw_malloc(max_len);
    size_t key_len;
    if (!EVP_DecodeBase64(key, &key_len, max_len, (const uint8_t *)b64, b64_len) || key_len == 0) {
        OPENSSL_cleanse(key, max_len);
        free(key);
        return -1;
    }
    *out = key;
    *out_len = key_len;
    return 0;
}

void cw_azure_conn_dispose(cw_azure_conn_t *conn)
{
    free(conn->account);
    if (conn->key != NULL) {
        OPENSSL_cleanse(conn->key, conn->key_len);
        free(conn->key);
    }
    free(conn->blob_endpoint);
    if (conn->sas != NULL) {
        OPENSSL_cleanse(conn->sas, strlen(conn->sas));
        free(conn->sas);
    }
    memset(conn, 0, sizeof(*conn));
}

static char *strip_trailing_slashes(char *s)
{
    size_t len = strlen(s);
    while (len > 0 && s[len - 1] == '/') {
        s[--len] = '\0';
    }
    return s;
}

int cw_azure_conn_parse(const char *conn, cw_azure_conn_t *out, char *err, size_t err_size)
{
    char *copy = cw_strdup(conn), *account = NULL, *key = NULL, *endpoint = NULL, *protocol = NULL, *suffix = NULL, *sas = NULL;
    int dev = 0, ret = -1;

    memset(out, 0, sizeof(*out));
    for (char *seg = copy, *next; seg != NULL; seg = next) {
        next = strchr(seg, ';');
        if (next != NULL) {
            *next++ = '\0';
        }
        while (*seg == ' ') {
            ++seg;
        }
        if (*seg == '\0') {
            continue;
        }
        char *eq = strchr(seg, '=');
        if (eq == NULL) {
            snprintf(err, err_size, "connection string: a part has no '='");
            goto Exit;
        }
        *eq = '\0';
        char *value = eq + 1;
        if (strcasecmp(seg, "AccountName") == 0) {
            account = value;
        } else if (strcasecmp(seg, "AccountKey") == 0) {
            key = value;
        } else if (strcasecmp(seg, "BlobEndpoint") == 0) {
            endpoint = value;
        } else if (strcasecmp(seg, "DefaultEndpointsProtocol") == 0) {
            protocol = value;
        } else if (strcasecmp(seg, "EndpointSuffix") == 0) {
            suffix = value;
        } else if (strcasecmp(seg, "SharedAccessSignature") == 0) {
            sas = value;
        } else if (strcasecmp(seg, "UseDevelopmentStorage") == 0) {
            dev = strcasecmp(value, "true") == 0;
        }
    }
    if (dev) {
        account = account != NULL ? account : DEV_ACCOUNT;
        key = key != NULL ? key : DEV_KEY;
        endpoint = endpoint != NULL ? endpoint : DEV_ENDPOINT;
    }
    if (endpoint != NULL) {
        if (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0) {
            snprintf(err, err_size, "connection string: BlobEndpoint must start with http:// or https://");
            goto Exit;
        }
        out->blob_endpoint = strip_trailing_slashes(cw_strdup(endpoint));
    } else if (account != NULL) {
        if (protocol != NULL && strcmp(protocol, "http") != 0 && strcmp(protocol, "https") != 0) {
            snprintf(err, err_size, "connection string: DefaultEndpointsProtocol must be http or https");
            goto Exit;
        }
        cw_buf_t b = CW_BUF_INIT;
        cw_buf_appendf(&b, "%s://%s.blob.%s", protocol != NULL ? protocol : "https", account,
                       suffix != NULL ? suffix : "core.windows.net");
        out->blob_endpoint = strip_trailing_slashes(cw_buf_release(&b, NULL));
    } else {
        snprintf(err, err_size, "connection string: needs AccountName or BlobEndpoint");
        goto Exit;
    }
    if (account != NULL) {
        out->account = cw_strdup(account);
    }
    if (key != NULL) {
        if (account == NULL) {
            snprintf(err, err_size, "connection string: AccountKey without AccountName");
            goto Exit;
        }
        if (cw_azure_decode_key(key, &out->key, &out->key_len) != 0) {
            snprintf(err, err_size, "connection string: AccountKey is not base64");
            goto Exit;
        }
    }
    if (sas != NULL) {
        out->sas = cw_strdup(sas[0] == '?' ? sas + 1 : sas);
    }
    if (out->key == NULL && out->sas == NULL) {
        snprintf(err, err_size, "connection string: needs AccountKey or SharedAccessSignature");
        goto Exit;
    }
    ret = 0;

Exit:
    OPENSSL_cleanse(copy, strlen(conn));
    free(copy);
    if (ret != 0) {
        cw_azure_conn_dispose(out);
    }
    return ret;
}

/* split_header splits "Name: value" into a lower-cased name and a value with
 * surrounding white space removed and inner runs collapsed. Returns 0 or -1. */
static int split_header(const char *line, kv_t *out)
{
    const char *colon = strchr(line, ':');
    if (colon == NULL || colon == line) {
        return -1;
    }
    size_t name_len = (size_t)(colon - line);
    out->name = cw_strndup(line, name_len);
    out->value = cw_malloc(strlen(colon + 1) + 1);
    for (size_t i = 0; i != name_len; ++i) {
        char c = out->name[i];
        if (c <= ' ' || c == 0x7f) {
            goto Fail;
        }
        if (c >= 'A' && c <= 'Z') {
            out->name[i] = (char)(c - 'A' + 'a');
        }
    }
    size_t n = 0;
    int pending_space = 0;
    for (const char *p = colon + 1; *p != '\0'; ++p) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t') {
            pending_space = n != 0;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            goto Fail;
        }
        if (pending_space) {
            out->value[n++] = ' ';
            pending_space = 0;
        }
        out->value[n++] = (char)c;
    }
    out->value[n] = '\0';
    return 0;
Fail:
    free(out->name);
    free(out->value);
    out->name = out->value = NULL;
    return -1;
}

/* url_decode returns a new string with %XX sequences decoded, or NULL on a broken or NUL escape. */
static char *url_decode(const char *s, size_t len)
{
    cw_buf_t b = CW_BUF_INIT;
    if (cw_url_decode(&b, s, len, 0) != 0 || memchr(b.base, '\0', b.len) != NULL) {
        cw_buf_free(&b);
        return NULL;
    }
    return cw_buf_release(&b, NULL);
}

static int compare_kv(const void *a, const void *b)
{
    const kv_t *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

static void free_kvs(kv_t *kvs, size_t n)
{
    for (size_t i = 0; i != n; ++i) {
        free(kvs[i].name);
        free(kvs[i].value);
    }
}

/* parse_query splits "a=b&c=d" into decoded pairs with lower-cased names. Returns the count or -1. */
static int parse_query(const char *query, kv_t *out)
{
    size_t n = 0;
    const char *p = query;
    while (p != NULL && *p != '\0') {
        const char *amp = strchr(p, '&'), *end = amp != NULL ? amp : p + strlen(p);
        if (end != p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (n == CW_AZURE_MAX_QUERY_PARAMS) {
                free_kvs(out, n);
                return -1;
            }
            out[n].name = url_decode(p, (size_t)((eq != NULL ? eq : end) - p));
            out[n].value = eq != NULL ? url_decode(eq + 1, (size_t)(end - eq - 1)) : cw_strdup("");
            if (out[n].name == NULL || out[n].value == NULL) {
                free_kvs(out, n + 1);
                return -1;
            }
            for (char *c = out[n].name; *c != '\0'; ++c) {
                if (*c >= 'A' && *c <= 'Z') {
                    *c = (char)(*c - 'A' + 'a');
                }
            }
            ++n;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return (int)n;
}

int cw_azure_string_to_sign(cw_buf_t *out, const char *verb, const char *account, const char *url_path, const char *query,
                            const char *const *headers, size_t num_headers)
{
    static const char *const standard[] = {
        "content-encoding",  "content-language", "content-length", "content-md5",         "content-type", "date",
        "if-modified-since", "if-match",         "if-none-match",  "if-unmodified-since", "range"};
    kv_t hdrs[CW_AZURE_MAX_HEADERS], params[CW_AZURE_MAX_QUERY_PARAMS];
    size_t num_hdrs = 0;
    int num_params = 0, ret = -1;

    if (num_headers > CW_AZURE_MAX_HEADERS) {
        goto Exit;
    }
    for (size_t i = 0; i != num_headers; ++i) {
        if (split_header(headers[i], &hdrs[num_hdrs]) != 0) {
            goto Exit;
        }
        ++num_hdrs;
    }
    if ((num_params = parse_query(query, params)) < 0) {
        num_params = 0;
        goto Exit;
    }
    qsort(hdrs, num_hdrs, sizeof(hdrs[0]), compare_kv);
    qsort(params, (size_t)num_params, sizeof(params[0]), compare_kv);

    cw_buf_appendf(out, "%s\n", verb);
    for (size_t s = 0; s != CW_ARRAY_SIZE(standard); ++s) {
        const char *value = "";
        for (size_t i = 0; i != num_hdrs; ++i) {
            if (strcmp(hdrs[i].name, standard[s]) == 0) {
                value = hdrs[i].value;
                break;
            }
        }
        if (s == 2 && strcmp(value, "0") == 0) {
            value = ""; /* since 2015-02-21 a zero Content-Length is signed as empty */
        }
        cw_buf_appendf(out, "%s\n", value);
    }
    for (size_t i = 0; i != num_hdrs; ++i) {
        if (strncmp(hdrs[i].name, "x-ms-", 5) != 0) {
            continue;
        }
        if (i != 0 && strcmp(hdrs[i].name, hdrs[i - 1].name) == 0) {
            /* a repeated x-ms- header: values joined with ',' on the line just written */
            out->len--;
            cw_buf_appendf(out, ",%s\n", hdrs[i].value);
        } else {
            cw_buf_appendf(out, "%s:%s\n", hdrs[i].name, hdrs[i].value);
        }
    }
    cw_buf_appendf(out, "/%s%s", account, url_path);
    for (int i = 0; i != num_params; ++i) {
        if (i != 0 && strcmp(params[i].name, params[i - 1].name) == 0) {
            cw_buf_appendf(out, ",%s", params[i].value);
        } else {
            cw_buf_appendf(out, "\n%s:%s", params[i].name, params[i].value);
        }
    }
    ret = 0;

Exit:
    free_kvs(hdrs, num_hdrs);
    free_kvs(params, (size_t)num_params);
    return ret;
}

int cw_azure_sign(const uint8_t *key, size_t key_len, const char *account, const char *verb, const char *url_path,
                  const char *query, const char *const *headers, size_t num_headers, cw_buf_t *out_authorization)
{
    cw_buf_t to_sign = CW_BUF_INIT;
    int ret = -1;
    if (cw_azure_string_to_sign(&to_sign, verb, account, url_path, query, headers, num_headers) != 0) {
        goto Exit;
    }
    uint8_t mac[SHA256_DIGEST_LENGTH];
    unsigned mac_len = sizeof(mac);
    HMAC(EVP_sha256(), key, key_len, (const uint8_t *)to_sign.base, to_sign.len, mac, &mac_len);
    char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
    EVP_EncodeBlock((uint8_t *)b64, mac, sizeof(mac));
    cw_buf_appendf(out_authorization, "SharedKey %s:%s", account, b64);
    ret = 0;
Exit:
    cw_buf_free(&to_sign);
    return ret;
}

void cw_azure_rfc1123_date(char *out, int64_t wall_ms)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 30, "%s, %02u %s %04u %02u:%02u:%02u GMT", days[(unsigned)tm.tm_wday % 7], (unsigned)tm.tm_mday % 32,
             months[(unsigned)tm.tm_mon % 12], (unsigned)(tm.tm_year + 1900) % 10000, (unsigned)tm.tm_hour % 24,
             (unsigned)tm.tm_min % 60, (unsigned)tm.tm_sec % 61);
}
