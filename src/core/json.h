/* src/core/json.h -- typed reads of diffusers/transformers JSON configs over json-c.
 *
 * Each getter follows one rule: a key that is absent or null leaves the
 * default (diffusers' __init__ default, given by the caller); a key of the
 * wrong type is an error naming the key and the file. json-c accepts what
 * Python's json module writes, including Infinity, -Infinity and NaN.
 */
#ifndef SANA_JSON_H
#define SANA_JSON_H

#include <stdint.h>
#include <json-c/json.h>
#include "core/status.h"

typedef struct {
    json_object *root;
    char *path;            /* for messages */
} sana_json;

/* Parse a JSON file whose top level must be an object. */
sana_status sana_json_load(sana_json *j, const char *path);
/* Parse JSON text held in memory (name is used in messages). */
sana_status sana_json_parse(sana_json *j, const char *text, size_t len, const char *name);
void sana_json_free(sana_json *j);

/* 1 when the key is present and not null. */
int sana_json_has(const sana_json *j, const char *key);
sana_status sana_json_int(const sana_json *j, const char *key, int64_t def, int64_t *out);
/* Accepts ints and floats, and Infinity/-Infinity/NaN. */
sana_status sana_json_double(const sana_json *j, const char *key, double def, double *out);
sana_status sana_json_bool(const sana_json *j, const char *key, int def, int *out);
/* *out is a strdup'd copy (or strdup(def), or NULL when def is NULL). */
sana_status sana_json_string(const sana_json *j, const char *key, const char *def, char **out);
/* Integer array of at most max items; *n receives the count. Absent/null: *n = -1. */
sana_status sana_json_int_array(const sana_json *j, const char *key, int64_t *out, int max, int *n);
/* Array of numbers, likewise. */
sana_status sana_json_double_array(const sana_json *j, const char *key, double *out, int max, int *n);
/* Array of strings, each strdup'd; absent/null: *n = -1. */
sana_status sana_json_string_array(const sana_json *j, const char *key, char **out, int max, int *n);
/* Error "FILE: key "KEY": MSG" (for unsupported values found by the caller). */
sana_status sana_json_bad(const sana_json *j, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* model_index.json: the components of a diffusers pipeline folder. */
#define SANA_MAX_COMPONENTS 16
typedef struct {
    char *class_name;                 /* "_class_name", e.g. "SanaPipeline" */
    char *diffusers_version;          /* "_diffusers_version" or NULL */
    int ncomponents;
    char *name[SANA_MAX_COMPONENTS];  /* "transformer", "vae", ... */
    char *library[SANA_MAX_COMPONENTS];   /* "diffusers", "transformers" (NULL for [null, null]) */
    char *cls[SANA_MAX_COMPONENTS];       /* "SanaTransformer2DModel", ... */
} sana_model_index;

sana_status sana_model_index_load(sana_model_index *mi, const char *path);
/* Class of a component, NULL when the pipeline has none. */
const char *sana_model_index_class(const sana_model_index *mi, const char *component);
void sana_model_index_free(sana_model_index *mi);

#endif
