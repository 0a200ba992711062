/*
 * Reading tasks, context and regions, and building predictions, as cJSON trees
 * (see wasml.h for the ownership rules).
 */
#include <math.h>
#include <stdint.h>

#include "wasml.h"

cJSON *wasml_checked(cJSON *item) {
    if (item == NULL) {
        __builtin_trap(); /* cJSON constructors fail only when out of memory */
    }
    return item;
}

/* JSON's four whitespace characters (cJSON itself skips any control character). */
static bool is_json_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

cJSON *wasml_json_parse(const char *text, size_t len) {
    const char *end = NULL;
    /* Strings crossing the component boundary are not NUL-terminated: parse by length, then
     * reject anything but whitespace after the value (cJSON stops after the first value). */
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (json == NULL) {
        return NULL;
    }
    for (const char *p = end; p < text + len; p++) {
        if (!is_json_space(*p)) {
            cJSON_Delete(json);
            return NULL;
        }
    }
    return json;
}

const char *wasml_string_member(const cJSON *object, const char *key) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool wasml_int_member(const cJSON *object, const char *key, int64_t *value) {
    return wasml_json_int(cJSON_GetObjectItemCaseSensitive(object, key), value);
}

bool wasml_json_int(const cJSON *json, int64_t *value) {
    if (!cJSON_IsNumber(json)) {
        return false;
    }
    double d = json->valuedouble;
    /* [-2^63, 2^63): the doubles that convert to int64_t without overflow. */
    if (!isfinite(d) || d != trunc(d) || d < -0x1p63 || d >= 0x1p63) {
        return false;
    }
    *value = (int64_t)d;
    return true;
}

const cJSON *wasml_as_array(const cJSON *json) {
    return cJSON_IsArray(json) ? json : NULL;
}

/* The array under `singular` when it is one, else the array under `plural`, else NULL. */
static const cJSON *bulk_list(const cJSON *payload, const char *singular, const char *plural) {
    const cJSON *list = wasml_as_array(cJSON_GetObjectItemCaseSensitive(payload, singular));
    return list != NULL ? list : wasml_as_array(cJSON_GetObjectItemCaseSensitive(payload, plural));
}

const cJSON *wasml_event_annotations(const cJSON *payload) {
    return bulk_list(payload, "annotation", "annotations");
}

const cJSON *wasml_event_tasks(const cJSON *payload) {
    return bulk_list(payload, "task", "tasks");
}

bool wasml_is_string_array(const cJSON *json) {
    if (!cJSON_IsArray(json)) {
        return false;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, json) {
        if (!cJSON_IsString(item)) {
            return false;
        }
    }
    return true;
}

const char *wasml_task_text(const cJSON *task, const char *key) {
    return wasml_string_member(cJSON_GetObjectItemCaseSensitive(task, "data"), key);
}

const cJSON *wasml_context_result(const cJSON *context) {
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(context, "result");
    return cJSON_IsArray(result) && cJSON_GetArraySize(result) > 0 ? result : NULL;
}

/* `object[key]` as an offset: a non-negative integer that fits a size_t. */
static bool offset_member(const cJSON *object, const char *key, size_t *offset) {
    int64_t value;
    if (!wasml_int_member(object, key, &value) || value < 0 || (uint64_t)value > SIZE_MAX) {
        return false;
    }
    *offset = (size_t)value;
    return true;
}

bool wasml_region_span(const cJSON *region, wasml_span *span) {
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(region, "value");
    if (!offset_member(value, "start", &span->start) || !offset_member(value, "end", &span->end)) {
        return false;
    }
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(value, "text");
    if (text != NULL && !cJSON_IsNull(text) && !cJSON_IsString(text)) {
        return false;
    }
    span->text = cJSON_IsString(text) ? text->valuestring : NULL;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(value, "labels");
    if (labels != NULL && !wasml_is_string_array(labels)) {
        return false;
    }
    span->labels = labels;
    return true;
}

cJSON *wasml_region(const char *from_name, const char *to_name, const char *type, cJSON *value) {
    cJSON *region = wasml_checked(cJSON_CreateObject());
    wasml_checked(cJSON_AddStringToObject(region, "from_name", from_name));
    wasml_checked(cJSON_AddStringToObject(region, "to_name", to_name));
    wasml_checked(cJSON_AddStringToObject(region, "type", type));
    if (!cJSON_AddItemToObject(region, "value", value)) {
        __builtin_trap();
    }
    return region;
}

/* A JSON array of `n` strings. */
static cJSON *string_array(const char *const *strings, size_t n) {
    cJSON *array = wasml_checked(cJSON_CreateArray());
    for (size_t i = 0; i < n; i++) {
        wasml_append(array, wasml_checked(cJSON_CreateString(strings[i])));
    }
    return array;
}

cJSON *wasml_region_labels_span(const char *from_name, const char *to_name, size_t start,
                                size_t end, const char *text, const char *const *labels,
                                size_t n_labels) {
    cJSON *value = wasml_checked(cJSON_CreateObject());
    wasml_checked(cJSON_AddNumberToObject(value, "start", (double)start));
    wasml_checked(cJSON_AddNumberToObject(value, "end", (double)end));
    wasml_checked(cJSON_AddStringToObject(value, "text", text));
    cJSON_AddItemToObject(value, "labels", string_array(labels, n_labels));
    return wasml_region(from_name, to_name, "labels", value);
}

cJSON *wasml_region_choices(const char *from_name, const char *to_name,
                            const char *const *choices, size_t n_choices) {
    cJSON *value = wasml_checked(cJSON_CreateObject());
    cJSON_AddItemToObject(value, "choices", string_array(choices, n_choices));
    return wasml_region(from_name, to_name, "choices", value);
}

cJSON *wasml_prediction(cJSON *result) {
    cJSON *prediction = wasml_checked(cJSON_CreateObject());
    if (result == NULL) {
        result = wasml_checked(cJSON_CreateArray());
    }
    if (!cJSON_AddItemToObject(prediction, "result", result)) {
        __builtin_trap();
    }
    return prediction;
}

cJSON *wasml_with_score(cJSON *object, double score) {
    cJSON_DeleteItemFromObjectCaseSensitive(object, "score");
    wasml_checked(cJSON_AddNumberToObject(object, "score", score));
    return object;
}

void wasml_append(cJSON *array, cJSON *item) {
    if (!cJSON_AddItemToArray(array, item)) {
        __builtin_trap();
    }
}
