/*
 * wasml.h: write a Label Studio ML model for the wasml host in C.
 *
 * A model is one C file that defines the `wasml_model` description and the functions
 * `wasml_predict` and `wasml_fit` (WASML_DEFAULT_FIT defines a `wasml_fit` that ignores
 * every event); this layer implements the component's exports (`info`, `predict`, `fit` of
 * the `wasml:model/model` WIT world) on top of them:
 *
 *   - the request arrives as plain C structs with NUL-terminated strings (wasml_call);
 *   - tasks, the interactive context and webhook payloads arrive parsed as cJSON trees;
 *   - predictions are cJSON objects the model appends to an array; this layer prints them;
 *   - errors are returned as a wasml_status, with a message set by wasml_fail;
 *   - the host's key/value store and log are plain C functions.
 *
 * JSON is cJSON 1.7.15 (MIT, Dave Gamble and cJSON contributors), vendored from Debian's
 * source package cjson 1.7.15-1+deb12u4 (with Debian's security patches): see
 * vendor/cjson/README.md. Look up object members with cJSON_GetObjectItemCaseSensitive:
 * JSON keys are case-sensitive, and plain cJSON_GetObjectItem is not.
 *
 * Memory ownership, in one place:
 *   - Everything this layer passes to the model (the call, tasks, context, payload) belongs
 *     to this layer and lives until the model's function returns. Do not free or modify it.
 *   - cJSON items the model adds to the `predictions` array (or to the fit result) belong to
 *     that array from then on; this layer prints and frees them, also after an error.
 *   - Builders (wasml_region_*, wasml_prediction) return a new cJSON item the caller owns
 *     until it is attached somewhere. They never return NULL: running out of memory traps
 *     the call, as in Rust (the host answers that one request with an error).
 *   - Functions returning `char *`, a byte buffer or a `cJSON *` through an out-parameter
 *     give the caller ownership: free() the bytes and strings, cJSON_Delete() the trees,
 *     wasml_keys_free() key lists. Each such function says so.
 *
 * Strings are UTF-8. A string containing a NUL character (`\u0000` in JSON) is cut at the
 * NUL when seen from C; cJSON has the same limit.
 */
#ifndef WASML_H
#define WASML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cJSON.h"

/* ---- Errors ---------------------------------------------------------------------------- */

/* What a model function returns; the host maps each failure to an HTTP status. */
typedef enum wasml_status {
    WASML_OK = 0,
    /* The tasks, context or payload cannot be used by this model (HTTP 422). */
    WASML_INVALID_INPUT,
    /* The label config lacks what this model needs, e.g. a Choices control (HTTP 422). */
    WASML_UNSUPPORTED_CONFIG,
    /* Anything else went wrong inside the model (HTTP 500). */
    WASML_INTERNAL,
} wasml_status;

/* Records why the call fails (printf-style message) and returns `status`, so a model writes
 * `return wasml_fail(WASML_INVALID_INPUT, "no object named %s", name);`. Each call replaces
 * the previous message: the host reports the last one. */
wasml_status wasml_fail(wasml_status status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* The message of the last wasml_fail ("" before any); owned by this layer. */
const char *wasml_error_message(void);

/* ---- The call: project, label config, model version ------------------------------------ */

/* An object tag a control reads from, e.g. <Text name="text" value="$text"/>. */
typedef struct wasml_input {
    const char *name;       /* the object's name: a result's `to_name` */
    const char *tag;        /* e.g. "Text", "Image" */
    const char *value;      /* the task data key (`$text` gives "text"), or NULL */
    const char *value_list; /* the data key of a list (`valueList`), or NULL */
    const char *value_type; /* the `valueType` attribute, or NULL */
} wasml_input;

/* One XML attribute of a label element. */
typedef struct wasml_attribute {
    const char *name;
    const char *value;
} wasml_attribute;

/* One <Label>, <Choice> or <Relation> of a control. */
typedef struct wasml_label {
    const char *value; /* what annotations hold: `alias`, else `value`, else `valueList` */
    size_t n_attributes;
    const wasml_attribute *attributes; /* in document order */
} wasml_label;

/* A control tag: Choices, Labels, RectangleLabels, TextArea, ... */
typedef struct wasml_control {
    const char *name; /* a result's `from_name` */
    const char *tag;  /* e.g. "Choices"; lower-cased it is a result's `type` */
    size_t n_to_name;
    const char *const *to_name; /* object names in `toName` */
    size_t n_inputs;
    const wasml_input *inputs; /* the objects found for `to_name`, in that order */
    size_t n_labels;
    const wasml_label *labels; /* in document order */
    bool dynamic_labels;       /* labels come from task data or an API */
    const char *conditional_kind; /* "tag", "label" or "choice" (perRegion), or NULL */
    const char *conditional_name; /* what the condition names, or NULL */
} wasml_control;

/* The project's label config, parsed by the host. */
typedef struct wasml_label_config {
    const char *raw; /* the XML as Label Studio sent it */
    size_t n_controls;
    const wasml_control *controls; /* in document order */
} wasml_label_config;

/* What every predict and fit call runs for. */
typedef struct wasml_call {
    const char *project; /* Label Studio project id ("42"); "" when unknown */
    wasml_label_config label_config;
    const char *model_version; /* the version the host stamps on the answer */
    const char *extra_params;  /* raw `extra_params` text from Label Studio, or NULL */
} wasml_call;

/* The control named `name`, or NULL. */
const wasml_control *wasml_control_named(const wasml_label_config *config, const char *name);

/* The first control whose tag is `tag` (e.g. "Choices"), or NULL. */
const wasml_control *wasml_first_control(const wasml_label_config *config, const char *tag);

/* The input of `control` whose name is `name`, or NULL. */
const wasml_input *wasml_control_input(const wasml_control *control, const char *name);

/* ---- The model: what a model file defines ---------------------------------------------- */

/* What a model says about itself (GET /models). */
typedef struct wasml_model_info {
    const char *name;        /* e.g. "Substring matching" */
    const char *version;     /* the author's version, e.g. "1.0.0" */
    const char *description; /* one or two sentences */
    bool interactive;        /* true when predict uses the interactive context */
} wasml_model_info;

/* Defined by the model: its description. */
extern const wasml_model_info wasml_model;

/* Defined by the model: appends exactly one prediction per task, in order, to
 * `predictions` (a JSON array). `tasks` is a JSON array of task objects; read a task's data
 * with wasml_task_text. `context` is the interactive context object, or NULL. */
wasml_status wasml_predict(const wasml_call *call, const cJSON *tasks, const cJSON *context,
                           cJSON *predictions);

/* What fit tells the host. */
typedef struct wasml_fit_outcome {
    cJSON *result; /* returned to Label Studio as the webhook's `result`; NULL means null */
    bool trained;  /* true when new trained state was stored: the project gets a new version */
} wasml_fit_outcome;

/* Defined by the model: learns from a webhook event. `event` is the action
 * ("ANNOTATION_CREATED", ...), `payload` the parsed webhook body. On WASML_OK this layer
 * prints and frees `outcome->result`; on failure it frees it too. */
wasml_status wasml_fit(const wasml_call *call, const char *event, const cJSON *payload,
                       wasml_fit_outcome *outcome);

/* Defines a wasml_fit that ignores every event ({"result": null, "trained": false}), for
 * models that do not learn. Write `WASML_DEFAULT_FIT` once at file scope. */
#define WASML_DEFAULT_FIT                                                                     \
    wasml_status wasml_fit(const wasml_call *call, const char *event, const cJSON *payload,  \
                           wasml_fit_outcome *outcome) {                                      \
        (void)call, (void)event, (void)payload;                                               \
        outcome->result = NULL;                                                               \
        outcome->trained = false;                                                             \
        return WASML_OK;                                                                      \
    }

/* ---- Tasks, context and regions (reading) ---------------------------------------------- */

/* Parses exactly one JSON value from `text[0..len)` (whitespace around it allowed), or
 * returns NULL when it is not valid JSON. The caller owns the tree (cJSON_Delete). */
cJSON *wasml_json_parse(const char *text, size_t len);

/* The string at `task.data[key]`, or NULL when absent or not a string. */
const char *wasml_task_text(const cJSON *task, const char *key);

/* The interactive context's `result` array, or NULL when there is none or it is empty. */
const cJSON *wasml_context_result(const cJSON *context);

/* A text span of a region (`labels` regions and any value with start/end). */
typedef struct wasml_span {
    size_t start;         /* UTF-16 code unit offset */
    size_t end;           /* UTF-16 code unit offset, exclusive */
    const char *text;     /* `value.text`, or NULL when absent */
    const cJSON *labels;  /* `value.labels`: an array of strings, or NULL when absent */
} wasml_span;

/* Reads `region.value` as a span: true when `start` and `end` are non-negative integers,
 * `text` is a string (or absent or null) and `labels` an array of strings (or absent), as
 * the Rust helper layer's Span type reads it. The span points into `region`. */
bool wasml_region_span(const cJSON *region, wasml_span *span);

/* `object[key]` when it is a string, else NULL (e.g. a region's "from_name"). */
const char *wasml_string_member(const cJSON *object, const char *key);

/* True, and `*value` set, when `object[key]` is an integral number (JSON has no separate
 * integer type; 2^53 and beyond are not exact in a double). */
bool wasml_int_member(const cJSON *object, const char *key, int64_t *value);

/* The same for `json` itself: true, and `*value` set, when it is an integral number. */
bool wasml_json_int(const cJSON *json, int64_t *value);

/* `json` when it is an array, else NULL: for cJSON_ArrayForEach over a member that may be
 * missing or of another type (on an object, cJSON_ArrayForEach would walk its members). */
const cJSON *wasml_as_array(const cJSON *json);

/* The annotations of a bulk webhook event, as an array (or NULL when there is none). Label
 * Studio 1.23 sends them as a list under `annotation` for ANNOTATIONS_CREATED and under
 * `annotations` for ANNOTATIONS_DELETED: both are read. Items may be of any type. */
const cJSON *wasml_event_annotations(const cJSON *payload);

/* The tasks of a bulk webhook event: a list under `task` (ANNOTATIONS_CREATED) or `tasks`. */
const cJSON *wasml_event_tasks(const cJSON *payload);

/* True when `json` is an array whose every item is a string. */
bool wasml_is_string_array(const cJSON *json);

/* ---- Predictions and regions (building) ------------------------------------------------ */

/* A region `{"from_name", "to_name", "type", "value"}`; takes ownership of `value`. */
cJSON *wasml_region(const char *from_name, const char *to_name, const char *type, cJSON *value);

/* A Labels text span: {"start", "end", "text", "labels"}, offsets in UTF-16 code units. */
cJSON *wasml_region_labels_span(const char *from_name, const char *to_name, size_t start,
                                size_t end, const char *text, const char *const *labels,
                                size_t n_labels);

/* A Choices region: {"choices": [...]}. */
cJSON *wasml_region_choices(const char *from_name, const char *to_name,
                            const char *const *choices, size_t n_choices);

/* A prediction {"result": result}; takes ownership of `result` (a JSON array; NULL gives an
 * empty one). */
cJSON *wasml_prediction(cJSON *result);

/* Sets `object.score` (a region or a prediction) and returns `object`. */
cJSON *wasml_with_score(cJSON *object, double score);

/* Appends `item` to `array` (which takes ownership); traps when out of memory. */
void wasml_append(cJSON *array, cJSON *item);

/* Returns `item`, trapping when it is NULL: wraps cJSON constructors, which return NULL
 * only when out of memory. */
cJSON *wasml_checked(cJSON *item);

/* ---- Text offsets the way Label Studio counts them ------------------------------------- */
/* Label Studio's front end measures span offsets in UTF-16 code units (JavaScript string
 * indices); C strings are UTF-8 bytes. An emoji is 4 bytes and 2 units, "é" 2 bytes and 1
 * unit. */

/* Length of the UTF-8 text `text[0..len)` in UTF-16 code units. */
size_t wasml_utf16_len(const char *text, size_t len);

/* The byte offset of UTF-16 offset `unit` in `text`: false when it is past the end or falls
 * inside a surrogate pair (between the two halves of an emoji). */
bool wasml_utf16_to_byte(const char *text, size_t unit, size_t *byte);

/* A copy of the text between UTF-16 offsets `start` and `end`, or NULL when either is out
 * of range, splits a surrogate pair, or start > end. The caller frees it. */
char *wasml_slice_utf16(const char *text, size_t start, size_t end);

/* Walks the non-overlapping occurrences of a needle in a text, left to right, in UTF-16
 * offsets. Borrows both strings; needs no cleanup. */
typedef struct wasml_matches {
    const char *haystack;
    const char *needle;
    size_t needle_len;   /* bytes */
    size_t needle_units; /* UTF-16 code units */
    const char *cursor;  /* where the search resumes */
    size_t cursor_unit;  /* UTF-16 offset of `cursor` */
} wasml_matches;

/* Starts a search for `needle` in `haystack` (an empty needle matches nothing). */
void wasml_matches_init(wasml_matches *matches, const char *haystack, const char *needle);

/* The next occurrence as UTF-16 [*start, *end); false when there is none left. */
bool wasml_matches_next(wasml_matches *matches, size_t *start, size_t *end);

/* ---- The host's key/value store, scoped to this model and the call's project ------------ */
/* Failures come back as WASML_INTERNAL with wasml_error_message set, so a model can return
 * them as they are. */

/* The bytes stored under `key`: `*found` false when there are none. On success the caller
 * owns `*value` (free(); NUL-terminated for convenience, `*len` excludes the NUL). */
wasml_status wasml_store_get(const char *key, char **value, size_t *len, bool *found);

/* Stores `len` bytes under `key`, replacing any previous value. */
wasml_status wasml_store_set(const char *key, const void *value, size_t len);

/* Removes `key`; `*existed` (may be NULL) tells whether it was there. */
wasml_status wasml_store_delete(const char *key, bool *existed);

/* A list of store keys; free it with wasml_keys_free. */
typedef struct wasml_keys {
    size_t len;
    char **keys; /* NUL-terminated */
} wasml_keys;

/* Every key that starts with `prefix`, in byte order. The caller owns `*keys`. */
wasml_status wasml_store_list_keys(const char *prefix, wasml_keys *keys);

/* Frees a list from wasml_store_list_keys (and leaves it empty). */
void wasml_keys_free(wasml_keys *keys);

/* The JSON value under `key`: `*value` NULL when the key is absent. A value that is not
 * JSON fails with WASML_INTERNAL. The caller owns `*value` (cJSON_Delete). */
wasml_status wasml_store_get_json(const char *key, cJSON **value);

/* Stores `value` as compact JSON text under `key`. */
wasml_status wasml_store_set_json(const char *key, const cJSON *value);

/* ---- Task data: the bytes a task's data points to ----------------------------------------- */
/* The host resolves uploads, local files, cloud URIs (presigned per task) and granted URLs as
 * Label Studio's SDK does, enforces the model's egress policy and budgets, and caches. A
 * failure comes back as WASML_INVALID_INPUT with wasml_error_message set to
 * "<kind>: <what to fix>" (kinds: not-allowed, not-found, unauthorized, too-large, timeout,
 * unavailable, invalid-url), so a model can return it as it is. */

/* What a fetch received; free it with wasml_fetched_free. */
typedef struct wasml_fetched {
    char *bytes;        /* the body (NUL-terminated for convenience; `len` excludes the NUL) */
    size_t len;
    char *content_type; /* NULL when the server sent none */
} wasml_fetched;

/* Fetches `reference` as it appears in a task; `task_id` < 0 when the task has none (cloud
 * storage URIs need it). */
wasml_status wasml_fetch(const char *reference, int64_t task_id, wasml_fetched *out);

/* Frees what wasml_fetch returned (and leaves it empty). */
void wasml_fetched_free(wasml_fetched *fetched);

/* ---- Logging into the host's log, tagged with the model's name -------------------------- */

/* Log levels of the host's log. */
typedef enum wasml_log_level {
    WASML_LOG_TRACE,
    WASML_LOG_DEBUG,
    WASML_LOG_INFO,
    WASML_LOG_WARN,
    WASML_LOG_ERROR,
} wasml_log_level;

/* Writes a printf-style message to the host's log. */
void wasml_log(wasml_log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* WASML_H */
