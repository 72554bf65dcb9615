/*
 * gen.c: deterministic lead generator (see gen.h). Every choice is drawn from
 * one of two splitmix64 streams (cw_splitmix64, cw/random.h) keyed by (seed, index): the base stream decides
 * what the lead is, the mutation stream decides how it is written. Keeping them
 * apart is what makes the facts independent of CW_GEN_MUTATE_TYPES.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cw/util.h"
#include "gen.h"

typedef struct {
    const char *name; /* as displayed, UTF-8 */
    const char *slug; /* ASCII, for emails and URLs */
} name_t;

static const name_t first_names[] = {
    {"James", "james"},     {"Maria", "maria"},   {"José", "jose"},      {"Zoë", "zoe"},           {"Łukasz", "lukasz"},
    {"Björk", "bjork"},     {"محمد", "mohammed"}, {"伟", "wei"},         {"Søren", "soren"},       {"François", "francois"},
    {"Siobhán", "siobhan"}, {"Ayşe", "ayse"},     {"Priya", "priya"},    {"Kwame", "kwame"},       {"Дмитрий", "dmitry"},
    {"由紀", "yuki"},       {"Chloé", "chloe"},   {"Jürgen", "jurgen"},  {"Ángel", "angel"},       {"Oluwaseun", "oluwaseun"},
    {"Emily", "emily"},     {"Noah", "noah"},     {"Aarav", "aarav"},    {"Fatima", "fatima"},     {"Hana", "hana"},
    {"Mateo", "mateo"},     {"Ingrid", "ingrid"}, {"Sarah", "sarah"},    {"Liam", "liam"},         {"Anaïs", "anais"},
    {"Nikolaj", "nikolaj"}, {"Thảo", "thao"},     {"D'Andre", "dandre"}, {"Jean-Luc", "jean-luc"},
};

static const name_t last_names[] = {
    {"Smith", "smith"},
    {"García", "garcia"},
    {"Kowalski", "kowalski"},
    {"Müller", "muller"},
    {"李", "li"},
    {"王", "wang"},
    {"Nguyễn", "nguyen"},
    {"O'Brien", "obrien"},
    {"Al-Farsi", "al-farsi"},
    {"Sørensen", "sorensen"},
    {"Dubois", "dubois"},
    {"Yılmaz", "yilmaz"},
    {"Patel", "patel"},
    {"Mensah", "mensah"},
    {"Иванов", "ivanov"},
    {"田中", "tanaka"},
    {"Björnsson", "bjornsson"},
    {"Núñez", "nunez"},
    {"Okafor", "okafor"},
    {"Johnson", "johnson"},
    {"Lee", "lee"},
    {"Rossi", "rossi"},
    {"Silva", "silva"},
    {"Novák", "novak"},
    {"Haddad", "haddad"},
    {"Kim", "kim"},
    {"Schmidt", "schmidt"},
    {"Andersson", "andersson"},
    {"Costa", "costa"},
    {"van der Berg", "vanderberg"},
};

static const char *const company_prefixes[] = {
    "Northwind", "Bluefin", "Cobalt",   "Juniper",  "Meridian", "Halcyon",    "Lumen",    "Brightwater", "Ironbark", "Kestrel",
    "Tidewater", "Granite", "Saffron",  "Polaris",  "Redwood",  "Silverline", "Aurora",   "Vantage",     "Helix",    "Pinecrest",
    "Orchard",   "Summit",  "Larkspur", "Foxglove", "Crescent", "Driftwood",  "Keystone", "Mosaic",      "Sable",    "Quill",
};

typedef struct {
    const char *suffix;
    const char *industry;
} company_kind_t;

static const company_kind_t company_kinds[] = {
    {"Analytics", "Data & Analytics"},
    {"Labs", "Computer Software"},
    {"Systems", "Information Technology & Services"},
    {"Health", "Hospital & Health Care"},
    {"Logistics", "Logistics & Supply Chain"},
    {"Robotics", "Industrial Automation"},
    {"Software", "Computer Software"},
    {"Capital", "Financial Services"},
    {"Networks", "Telecommunications"},
    {"Foods", "Food & Beverages"},
    {"Energy", "Renewables & Environment"},
    {"Security", "Computer & Network Security"},
    {"Bio", "Biotechnology"},
    {"Learning", "E-Learning"},
    {"Commerce", "Retail"},
};

static const char *const legal_suffixes[] = {", Inc.", " GmbH", " Ltd", " S.A.", " B.V.", " & Co."};
static const char *const tlds[] = {".com", ".io", ".ai", ".co", ".com", ".de", ".com"};

static const char *const titles[] = {
    "VP of Sales",
    "Head of Growth",
    "Chief Revenue Officer",
    "Director, Marketing Operations",
    "Founder & CEO",
    "RevOps Manager",
    "Senior Account Executive",
    "Sales Development Representative",
    "Head of Data",
    "CTO",
    "Product Marketing Manager",
    "Demand Generation Lead",
    "Directrice Commerciale",
    "Geschäftsführer",
    "Customer Success Manager",
    "VP Engineering",
    "Head of Partnerships",
    "Growth Marketer",
};

static const char *const openers[] = {
    "Saw {co} just opened a Berlin office — congrats!",         "Loved your post on \"pipeline hygiene\" & RevOps.",
    "Quick one: is <outbound> still on your Q3 list?",          "Congrats on the Series B \xF0\x9F\x9A\x80",
    "Two lines:\nyour team is hiring SDRs; we help them ramp.", "Noticed {co} runs on a 50/50 inbound-outbound mix.",
};

typedef struct {
    size_t first, last, prefix, kind, title, tld;
    int legal;  /* -1 none, else an index into legal_suffixes */
    int opener; /* -1 none, else an index into openers */
    uint32_t employees;
    int has_score;
    int32_t score_centi;
    int has_email;
    uint32_t linkedin_tag;
} lead_t;

static uint64_t stream_seed(uint64_t seed, size_t index, uint64_t stream)
{
    uint64_t state = seed;
    uint64_t a = cw_splitmix64(&state);
    state = a ^ ((uint64_t)index * UINT64_C(0xD1B54A32D192ED03)) ^ (stream << 56);
    return cw_splitmix64(&state);
}

static uint32_t pick(uint64_t *state, uint32_t n)
{
    return (uint32_t)(cw_splitmix64(state) % n);
}

static void make_lead(uint64_t seed, size_t index, lead_t *lead)
{
    uint64_t st = stream_seed(seed, index, 1);
    memset(lead, 0, sizeof(*lead));
    lead->first = pick(&st, CW_ARRAY_SIZE(first_names));
    lead->last = pick(&st, CW_ARRAY_SIZE(last_names));
    lead->prefix = pick(&st, CW_ARRAY_SIZE(company_prefixes));
    lead->kind = pick(&st, CW_ARRAY_SIZE(company_kinds));
    lead->tld = pick(&st, CW_ARRAY_SIZE(tlds));
    lead->legal = pick(&st, 100) < 15 ? (int)pick(&st, CW_ARRAY_SIZE(legal_suffixes)) : -1;
    lead->title = pick(&st, CW_ARRAY_SIZE(titles));
    uint32_t size_class = pick(&st, 100);
    if (size_class < 30) {
        lead->employees = 1 + pick(&st, 50);
    } else if (size_class < 60) {
        lead->employees = 51 + pick(&st, 450);
    } else if (size_class < 85) {
        lead->employees = 501 + pick(&st, 4500);
    } else {
        lead->employees = 5001 + pick(&st, 95000);
    }
    uint32_t score_class = pick(&st, 100);
    if (score_class < 3) {
        lead->has_score = 0;
    } else if (score_class < 15) {
        lead->has_score = 1;
        lead->score_centi = (int32_t)pick(&st, 10001);
    } else {
        lead->has_score = 1;
        lead->score_centi = (int32_t)pick(&st, 101) * 100;
    }
    lead->has_email = pick(&st, 100) >= 5;
    lead->linkedin_tag = (uint32_t)(cw_splitmix64(&st) & 0xffffff);
    lead->opener = pick(&st, 100) < 30 ? (int)pick(&st, CW_ARRAY_SIZE(openers)) : -1;
}

static void facts_from_lead(uint64_t seed, size_t index, const lead_t *lead, cw_gen_facts_t *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->row_id, sizeof(out->row_id), "row_%016" PRIx64 "_%zu", seed, index);
    out->has_score = lead->has_score;
    out->score_centi = lead->has_score ? lead->score_centi : 0;
    out->score = out->score_centi / 100.0;
    out->has_email = lead->has_email;
    out->route = cw_gen_route(out, NULL);
    cw_gen_sinks_t sinks;
    cw_gen_expected_sinks(out, NULL, &sinks);
    out->slack = sinks.slack != 0;
}

void cw_gen_lead_facts(uint64_t seed, size_t index, cw_gen_facts_t *out)
{
    lead_t lead;
    make_lead(seed, index, &lead);
    facts_from_lead(seed, index, &lead, out);
}

cw_gen_route_t cw_gen_route(const cw_gen_facts_t *facts, const cw_gen_thresholds_t *thresholds)
{
    static const cw_gen_thresholds_t defaults = CW_GEN_THRESHOLDS_DEFAULT;
    const cw_gen_thresholds_t *t = thresholds != NULL ? thresholds : &defaults;
    if (!facts->has_score) {
        return CW_GEN_ROUTE_SKIP;
    }
    if (facts->score >= t->outreach_min && facts->has_email) {
        return CW_GEN_ROUTE_OUTREACH;
    }
    if (facts->score >= t->nurture_min) {
        return CW_GEN_ROUTE_NURTURE;
    }
    return CW_GEN_ROUTE_SKIP;
}

void cw_gen_expected_sinks(const cw_gen_facts_t *facts, const cw_gen_thresholds_t *thresholds, cw_gen_sinks_t *out)
{
    static const cw_gen_thresholds_t defaults = CW_GEN_THRESHOLDS_DEFAULT;
    const cw_gen_thresholds_t *t = thresholds != NULL ? thresholds : &defaults;
    cw_gen_route_t route = cw_gen_route(facts, t);
    memset(out, 0, sizeof(*out));
    out->outreach = route == CW_GEN_ROUTE_OUTREACH;
    out->nurture = route == CW_GEN_ROUTE_NURTURE;
    out->zapier = route != CW_GEN_ROUTE_SKIP;
    out->slack = facts->has_score && facts->score >= t->slack_min;
}

const char *cw_gen_route_name(cw_gen_route_t route)
{
    switch (route) {
    case CW_GEN_ROUTE_OUTREACH:
        return "outreach";
    case CW_GEN_ROUTE_NURTURE:
        return "nurture";
    case CW_GEN_ROUTE_SKIP:
        break;
    }
    return "skip";
}

/* ---- writing ---- */

/* How the mutation stream chose to write this lead. */
typedef struct {
    int title_keys;       /* "ICP Score" instead of icp_score */
    int work_email_key;   /* work_email instead of email (snake_case only) */
    int score_form;       /* 0 number, 1 "85", 2 " 85 " */
    int employees_form;   /* 0 number, 1 "1200", 2 "1,200" */
    int absent_form;      /* for absent email/score: 0 leave out, 1 null, 2 "" */
    int optional_form[4]; /* job_title, industry, linkedin_url, company_domain: 0 value, 1 null, 2 "" */
} style_t;

enum { OPT_TITLE, OPT_INDUSTRY, OPT_LINKEDIN, OPT_DOMAIN };

static void choose_style(uint64_t seed, size_t index, unsigned flags, style_t *style)
{
    memset(style, 0, sizeof(*style));
    if ((flags & CW_GEN_MUTATE_TYPES) == 0) {
        return;
    }
    uint64_t st = stream_seed(seed, index, 2);
    style->title_keys = pick(&st, 100) < 30;
    style->work_email_key = pick(&st, 100) < 30;
    uint32_t r = pick(&st, 100);
    style->score_form = r < 25 ? 1 : r < 35 ? 2 : 0;
    r = pick(&st, 100);
    style->employees_form = r < 30 ? 2 : r < 40 ? 1 : 0;
    style->absent_form = (int)pick(&st, 3);
    for (size_t i = 0; i != CW_ARRAY_SIZE(style->optional_form); ++i) {
        r = pick(&st, 100);
        style->optional_form[i] = r < 8 ? 1 : r < 16 ? 2 : 0;
    }
}

static void json_string(cw_buf_t *buf, const char *s)
{
    cw_buf_append(buf, "\"", 1);
    for (; *s != '\0'; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            cw_buf_append(buf, esc, 2);
        } else if (c == '\n') {
            cw_buf_append(buf, "\\n", 2);
        } else if (c < 0x20) {
            cw_buf_appendf(buf, "\\u%04x", c);
        } else {
            cw_buf_append(buf, s, 1);
        }
    }
    cw_buf_append(buf, "\"", 1);
}

static void json_key(cw_buf_t *buf, const style_t *style, const char *snake, const char *title)
{
    cw_buf_append(buf, buf->len > 1 ? "," : "", buf->len > 1 ? 1 : 0);
    json_string(buf, style->title_keys ? title : snake);
    cw_buf_append(buf, ":", 1);
}

/* json_optional writes an optional string field as its value, null or "" per |form|. */
static void json_optional(cw_buf_t *buf, const style_t *style, const char *snake, const char *title, const char *value, int form)
{
    json_key(buf, style, snake, title);
    if (form == 1) {
        cw_buf_appends(buf, "null");
    } else if (form == 2) {
        cw_buf_appends(buf, "\"\"");
    } else {
        json_string(buf, value);
    }
}

static void json_absent(cw_buf_t *buf, const style_t *style, const char *snake, const char *title)
{
    if (style->absent_form == 0) {
        return;
    }
    json_key(buf, style, snake, title);
    cw_buf_appends(buf, style->absent_form == 1 ? "null" : "\"\"");
}

static void format_score(char *out, size_t out_size, int32_t centi)
{
    if (centi % 100 == 0) {
        snprintf(out, out_size, "%" PRId32, centi / 100);
    } else if (centi % 10 == 0) {
        snprintf(out, out_size, "%" PRId32 ".%" PRId32, centi / 100, (centi % 100) / 10);
    } else {
        snprintf(out, out_size, "%" PRId32 ".%02" PRId32, centi / 100, centi % 100);
    }
}

static void format_thousands(char *out, size_t out_size, uint32_t n)
{
    if (n >= 1000000) {
        snprintf(out, out_size, "%" PRIu32 ",%03" PRIu32 ",%03" PRIu32, n / 1000000, (n / 1000) % 1000, n % 1000);
    } else if (n >= 1000) {
        snprintf(out, out_size, "%" PRIu32 ",%03" PRIu32, n / 1000, n % 1000);
    } else {
        snprintf(out, out_size, "%" PRIu32, n);
    }
}

/* lower_alnum appends |s| lower-cased with everything but [a-z0-9] dropped. */
static void lower_alnum(char *out, size_t out_size, const char *s)
{
    size_t n = strlen(out);
    for (; *s != '\0' && n + 1 < out_size; ++s) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            out[n++] = c;
        }
    }
    out[n] = '\0';
}

static void write_opener(cw_buf_t *buf, const style_t *style, const char *opener, const char *company)
{
    /* Substitute {co} with the company name, as a Clay formula column would. */
    cw_buf_t text = CW_BUF_INIT;
    const char *mark = strstr(opener, "{co}");
    if (mark != NULL) {
        cw_buf_append(&text, opener, (size_t)(mark - opener));
        cw_buf_appends(&text, company);
        cw_buf_appends(&text, mark + 4);
    } else {
        cw_buf_appends(&text, opener);
    }
    json_key(buf, style, "personalized_opener", "Personalized Opener");
    json_string(buf, text.base);
    cw_buf_free(&text);
}

char *cw_gen_lead_json(uint64_t seed, size_t index, unsigned flags, size_t *out_len)
{
    lead_t lead;
    cw_gen_facts_t facts;
    style_t style;
    make_lead(seed, index, &lead);
    facts_from_lead(seed, index, &lead, &facts);
    choose_style(seed, index, flags, &style);

    const name_t *first = &first_names[lead.first];
    const name_t *last = &last_names[lead.last];
    const company_kind_t *kind = &company_kinds[lead.kind];
    char company[96], domain[96], email[200], linkedin[200], num[32];
    snprintf(company, sizeof(company), "%s %s%s", company_prefixes[lead.prefix], kind->suffix,
             lead.legal >= 0 ? legal_suffixes[lead.legal] : "");
    domain[0] = '\0';
    lower_alnum(domain, sizeof(domain), company_prefixes[lead.prefix]);
    lower_alnum(domain, sizeof(domain), kind->suffix);
    snprintf(domain + strlen(domain), sizeof(domain) - strlen(domain), "%s", tlds[lead.tld]);
    snprintf(email, sizeof(email), "%s.%s@%s", first->slug, last->slug, domain);
    snprintf(linkedin, sizeof(linkedin), "https://www.linkedin.com/in/%s-%s-%06" PRIx32, first->slug, last->slug,
             lead.linkedin_tag);

    cw_buf_t buf = CW_BUF_INIT;
    cw_buf_append(&buf, "{", 1);
    json_key(&buf, &style, "row_id", "Row ID");
    json_string(&buf, facts.row_id);
    json_key(&buf, &style, "first_name", "First Name");
    json_string(&buf, first->name);
    json_key(&buf, &style, "last_name", "Last Name");
    json_string(&buf, last->name);

    const char *email_key = style.work_email_key ? "work_email" : "email";
    if (lead.has_email) {
        json_key(&buf, &style, email_key, "Work Email");
        json_string(&buf, email);
    } else {
        json_absent(&buf, &style, email_key, "Work Email");
    }

    json_optional(&buf, &style, "job_title", "Job Title", titles[lead.title], style.optional_form[OPT_TITLE]);
    json_key(&buf, &style, "company_name", "Company Name");
    json_string(&buf, company);
    json_optional(&buf, &style, "company_domain", "Company Domain", domain, style.optional_form[OPT_DOMAIN]);
    json_optional(&buf, &style, "industry", "Industry", kind->industry, style.optional_form[OPT_INDUSTRY]);

    json_key(&buf, &style, "employee_count", "Employee Count");
    if (style.employees_form == 2) {
        format_thousands(num, sizeof(num), lead.employees);
        json_string(&buf, num);
    } else {
        snprintf(num, sizeof(num), "%" PRIu32, lead.employees);
        if (style.employees_form == 1) {
            json_string(&buf, num);
        } else {
            cw_buf_appends(&buf, num);
        }
    }

    json_optional(&buf, &style, "linkedin_url", "LinkedIn URL", linkedin, style.optional_form[OPT_LINKEDIN]);

    if (lead.has_score) {
        json_key(&buf, &style, "icp_score", "ICP Score");
        format_score(num, sizeof(num), lead.score_centi);
        if (style.score_form == 1) {
            json_string(&buf, num);
        } else if (style.score_form == 2) {
            char padded[40];
            snprintf(padded, sizeof(padded), " %s ", num);
            json_string(&buf, padded);
        } else {
            cw_buf_appends(&buf, num);
        }
    } else {
        json_absent(&buf, &style, "icp_score", "ICP Score");
    }

    if (lead.opener >= 0) {
        write_opener(&buf, &style, openers[lead.opener], company);
    }
    cw_buf_append(&buf, "}", 1);
    return cw_buf_release(&buf, out_len);
}
