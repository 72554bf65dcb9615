/*
 * xml_list.h: a small, bounded, forgiving reader of object-list responses:
 * S3 and GCS ListBucketResult (<Contents><Key>, <NextContinuationToken>) and
 * Azure EnumerationResults (<Blob><Name>, <NextMarker>). It is not an XML
 * parser: it walks tags, keeps a bounded stack of element names, decodes the
 * five predefined and numeric entities and CDATA, ignores comments, processing
 * instructions and DOCTYPEs (no entity definitions, so no expansion attacks),
 * and never reads past the buffer it is given.
 */
#ifndef CW_XML_LIST_H
#define CW_XML_LIST_H

#include <stddef.h>

#define CW_XML_LIST_MAX_NAMES 10000 /* per document; S3 pages hold 1000, Azure 5000 */
#define CW_XML_LIST_MAX_VALUE 4096  /* bytes of one decoded value (keys are at most 1024) */
#define CW_XML_LIST_MAX_DEPTH 64

/* cw_xml_list_t is what one page yielded; everything owned (cw_xml_list_free). */
typedef struct st_cw_xml_list_t {
    char **names; /* the <Key> of each <Contents> and the <Name> of each <Blob>, in document order; NULL when none */
    size_t num_names;
    char *next; /* <NextContinuationToken> or <NextMarker>; NULL when absent or empty */
} cw_xml_list_t;

/* cw_xml_list_parse reads |len| bytes at |xml| (need not be NUL-terminated)
 * into |out|. Returns 0, or -1 (with |out| empty) when a limit above is
 * exceeded or a value holds a NUL. Malformed markup is skipped, not fatal. */
int cw_xml_list_parse(const char *xml, size_t len, cw_xml_list_t *out);
/* cw_xml_list_free releases |list|'s contents and zeroes it. */
void cw_xml_list_free(cw_xml_list_t *list);

#endif
