/*
 * The component's exports (`info`, `predict`, `fit` of the `wasml:model/model` world), on
 * top of the model's wasml_model, wasml_predict and wasml_fit.
 *
 * Ownership at the boundary, as wit-bindgen's C bindings define it: an export owns its
 * arguments and frees them (the *_free functions); what it returns is malloc'd and freed by
 * the generated post-return function after the host has copied it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"

/* ---- A per-call arena for the C view of the request -------------------------------------- */

/* One allocation of the arena, linked to the previous one. */
typedef struct chunk {
    struct chunk *next;
    max_align_t data[];
} chunk;

/* Everything allocated for one call, freed at once when it ends. */
typedef struct arena {
    chunk *chunks;
} arena;

/* `size` bytes that live until arena_free; traps when out of memory. */
static void *arena_alloc(arena *a, size_t size) {
    chunk *c = malloc(sizeof(chunk) + size);
    if (c == NULL) {
        __builtin_trap();
    }
    c->next = a->chunks;
    a->chunks = c;
    return c->data;
}

static void arena_free(arena *a) {
    while (a->chunks != NULL) {
        chunk *next = a->chunks->next;
        free(a->chunks);
        a->chunks = next;
    }
}

/* A NUL-terminated copy of `s` (WIT strings carry a length and no terminator). */
static const char *arena_string(arena *a, const model_string_t *s) {
    char *copy = arena_alloc(a, s->len + 1);
    memcpy(copy, s->ptr, s->len);
    copy[s->len] = '\0';
    return copy;
}

static const char *arena_option(arena *a, const model_option_string_t *s) {
    return s->is_some ? arena_string(a, &s->val) : NULL;
}

/* ---- The request as wasml_call --------------------------------------------------------- */

static void convert_input(arena *a, const wasml_model_types_input_t *in, wasml_input *out) {
    *out = (wasml_input){
        .name = arena_string(a, &in->name),
        .tag = arena_string(a, &in->tag),
        .value = arena_option(a, &in->value),
        .value_list = arena_option(a, &in->value_list),
        .value_type = arena_option(a, &in->value_type),
    };
}

static void convert_label(arena *a, const wasml_model_types_label_t *in, wasml_label *out) {
    wasml_attribute *attributes = arena_alloc(a, in->attributes.len * sizeof *attributes);
    for (size_t i = 0; i < in->attributes.len; i++) {
        attributes[i].name = arena_string(a, &in->attributes.ptr[i].name);
        attributes[i].value = arena_string(a, &in->attributes.ptr[i].value);
    }
    *out = (wasml_label){
        .value = arena_string(a, &in->value),
        .n_attributes = in->attributes.len,
        .attributes = attributes,
    };
}

/* The name of a conditional kind, as the Rust helper layer spells it. */
static const char *conditional_kind(wasml_model_types_conditional_kind_t kind) {
    switch (kind) {
    case WASML_MODEL_TYPES_CONDITIONAL_KIND_TAG:
        return "tag";
    case WASML_MODEL_TYPES_CONDITIONAL_KIND_LABEL:
        return "label";
    default:
        return "choice";
    }
}

static void convert_control(arena *a, const wasml_model_types_control_t *in, wasml_control *out) {
    const char **to_name = arena_alloc(a, in->to_name.len * sizeof *to_name);
    for (size_t i = 0; i < in->to_name.len; i++) {
        to_name[i] = arena_string(a, &in->to_name.ptr[i]);
    }
    wasml_input *inputs = arena_alloc(a, in->inputs.len * sizeof *inputs);
    for (size_t i = 0; i < in->inputs.len; i++) {
        convert_input(a, &in->inputs.ptr[i], &inputs[i]);
    }
    wasml_label *labels = arena_alloc(a, in->labels.len * sizeof *labels);
    for (size_t i = 0; i < in->labels.len; i++) {
        convert_label(a, &in->labels.ptr[i], &labels[i]);
    }
    const wasml_model_types_option_conditional_t *cond = &in->conditional;
    *out = (wasml_control){
        .name = arena_string(a, &in->name),
        .tag = arena_string(a, &in->tag),
        .n_to_name = in->to_name.len,
        .to_name = to_name,
        .n_inputs = in->inputs.len,
        .inputs = inputs,
        .n_labels = in->labels.len,
        .labels = labels,
        .dynamic_labels = in->dynamic_labels,
        .conditional_kind = cond->is_some ? conditional_kind(cond->val.kind) : NULL,
        .conditional_name = cond->is_some ? arena_string(a, &cond->val.name) : NULL,
    };
}

/* Fills `call` from `request`, copying every string into `a`. */
static void convert_request(arena *a, const model_request_t *request, wasml_call *call) {
    const wasml_model_types_list_control_t *in = &request->label_config.controls;
    wasml_control *controls = arena_alloc(a, in->len * sizeof *controls);
    for (size_t i = 0; i < in->len; i++) {
        convert_control(a, &in->ptr[i], &controls[i]);
    }
    *call = (wasml_call){
        .project = arena_string(a, &request->project),
        .label_config = {
            .raw = arena_string(a, &request->label_config.raw),
            .n_controls = in->len,
            .controls = controls,
        },
        .model_version = arena_string(a, &request->model_version),
        .extra_params = arena_option(a, &request->extra_params),
    };
}

/* ---- Errors and JSON at the boundary --------------------------------------------------- */

/* The WIT error for a failed call: `status` and the message of the last wasml_fail. */
static void to_model_error(wasml_status status, const char *what, model_model_error_t *err) {
    const char *message = wasml_error_message();
    if (message[0] == '\0') {
        message = what; /* the model failed without saying why */
    }
    switch (status) {
    case WASML_INVALID_INPUT:
        err->tag = WASML_MODEL_TYPES_MODEL_ERROR_INVALID_INPUT;
        break;
    case WASML_UNSUPPORTED_CONFIG:
        err->tag = WASML_MODEL_TYPES_MODEL_ERROR_UNSUPPORTED_CONFIG;
        break;
    default:
        err->tag = WASML_MODEL_TYPES_MODEL_ERROR_INTERNAL;
        break;
    }
    /* All three cases hold a string at the same place of the union. */
    model_string_dup(&err->val.internal, message);
    wasml_error_reset();
}

/* A JSON argument, parsed (NULL when it is not JSON); the caller owns the tree. */
static cJSON *parse_argument(const model_string_t *raw) {
    return wasml_json_parse((const char *)raw->ptr, raw->len);
}

/* `json` printed compactly as a WIT string, which the post-return function frees. */
static model_string_t print_json(const cJSON *json) {
    char *text = json != NULL ? cJSON_PrintUnformatted(json) : strdup("null");
    if (text == NULL) {
        __builtin_trap(); /* out of memory */
    }
    return (model_string_t){.ptr = (uint8_t *)text, .len = strlen(text)};
}

/* ---- The exports ----------------------------------------------------------------------- */

void exports_model_info(model_model_info_t *ret) {
    model_string_dup(&ret->name, wasml_model.name);
    model_string_dup(&ret->version, wasml_model.version);
    model_string_dup(&ret->description, wasml_model.description ? wasml_model.description : "");
    ret->interactive = wasml_model.interactive;
}

/* Parses and checks the tasks into a JSON array (`*out`, owned by the caller). */
static wasml_status parse_tasks(const model_list_string_t *raw, cJSON **out) {
    cJSON *tasks = wasml_checked(cJSON_CreateArray());
    *out = tasks;
    for (size_t i = 0; i < raw->len; i++) {
        cJSON *task = parse_argument(&raw->ptr[i]);
        if (task == NULL) {
            return wasml_fail(WASML_INVALID_INPUT, "task %zu: not valid JSON", i);
        }
        wasml_append(tasks, task);
        wasml_status status = wasml_check_task(task, i);
        if (status != WASML_OK) {
            return status;
        }
    }
    return WASML_OK;
}

/* Parses and checks the interactive context (`*out` NULL when there is none). */
static wasml_status parse_context(const model_string_t *raw, cJSON **out) {
    *out = NULL;
    if (raw == NULL) {
        return WASML_OK;
    }
    *out = parse_argument(raw);
    if (*out == NULL) {
        return wasml_fail(WASML_INVALID_INPUT, "context: not valid JSON");
    }
    return wasml_check_context(*out);
}

/* Prints the model's predictions into `ret`, checking there is one per task. */
static wasml_status print_predictions(const cJSON *predictions, size_t n_tasks,
                                      model_list_string_t *ret) {
    size_t n = (size_t)cJSON_GetArraySize(predictions);
    if (n != n_tasks) {
        return wasml_fail(WASML_INTERNAL, "%s returned %zu predictions for %zu tasks",
                          wasml_model.name, n, n_tasks);
    }
    ret->len = n;
    ret->ptr = n > 0 ? malloc(n * sizeof *ret->ptr) : NULL;
    if (n > 0 && ret->ptr == NULL) {
        __builtin_trap();
    }
    size_t i = 0;
    const cJSON *prediction;
    cJSON_ArrayForEach(prediction, predictions) {
        ret->ptr[i++] = print_json(prediction);
    }
    return WASML_OK;
}

bool exports_model_predict(model_request_t *request, model_list_string_t *tasks,
                           model_string_t *maybe_context, model_list_string_t *ret,
                           model_model_error_t *err) {
    wasml_error_reset();
    arena a = {0};
    wasml_call call;
    convert_request(&a, request, &call);
    model_request_free(request);

    size_t n_tasks = tasks->len;
    cJSON *task_array = NULL, *context = NULL, *predictions = NULL;
    wasml_status status = parse_tasks(tasks, &task_array);
    model_list_string_free(tasks);
    if (status == WASML_OK) {
        status = parse_context(maybe_context, &context);
    }
    if (maybe_context != NULL) {
        model_string_free(maybe_context);
    }
    if (status == WASML_OK) {
        predictions = wasml_checked(cJSON_CreateArray());
        status = wasml_predict(&call, task_array, context, predictions);
    }
    if (status == WASML_OK) {
        status = print_predictions(predictions, n_tasks, ret);
    }
    if (status != WASML_OK) {
        to_model_error(status, "predict failed", err);
    }
    cJSON_Delete(predictions);
    cJSON_Delete(context);
    cJSON_Delete(task_array);
    arena_free(&a);
    return status == WASML_OK;
}

bool exports_model_fit(model_request_t *request, model_string_t *event, model_string_t *payload,
                       model_fit_outcome_t *ret, model_model_error_t *err) {
    wasml_error_reset();
    arena a = {0};
    wasml_call call;
    convert_request(&a, request, &call);
    model_request_free(request);
    const char *action = arena_string(&a, event);
    model_string_free(event);

    cJSON *body = parse_argument(payload);
    model_string_free(payload);
    wasml_fit_outcome outcome = {.result = NULL, .trained = false};
    wasml_status status = body != NULL
                              ? wasml_fit(&call, action, body, &outcome)
                              : wasml_fail(WASML_INVALID_INPUT, "payload: not valid JSON");
    if (status == WASML_OK) {
        ret->result = print_json(outcome.result);
        ret->trained = outcome.trained;
    } else {
        to_model_error(status, "fit failed", err);
    }
    cJSON_Delete(outcome.result);
    cJSON_Delete(body);
    arena_free(&a);
    return status == WASML_OK;
}
