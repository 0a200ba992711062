/*
 * Shape checks of the JSON the host passes in, mirroring the Rust helper layer's typed
 * parsing (its Task, Annotation, Context and Region types), so every model can rely on the
 * shapes and malformed requests answer invalid-input like the Rust builds, instead of each
 * model checking, or crashing.
 */
#include "internal.h"

/* True when `object[key]` is absent or satisfies `ok`. */
static bool absent_or(const cJSON *object, const char *key, bool (*ok)(const cJSON *)) {
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
    return item == NULL || ok(item);
}

/* The shapes of optional fields (an Option<...> in Rust: null counts as absent). */
static bool is_optional_integer(const cJSON *json) {
    int64_t unused;
    return cJSON_IsNull(json) || wasml_json_int(json, &unused);
}

static bool is_optional_string(const cJSON *json) {
    return cJSON_IsNull(json) || cJSON_IsString(json);
}

static bool is_optional_number(const cJSON *json) {
    return cJSON_IsNull(json) || cJSON_IsNumber(json);
}

static bool is_object(const cJSON *json) {
    return cJSON_IsObject(json);
}

static bool is_bool(const cJSON *json) {
    return cJSON_IsBool(json);
}

/* A result region: string from_name, to_name and type, a value, an optional string id and
 * an optional number score. */
static bool is_region(const cJSON *region) {
    return wasml_string_member(region, "from_name") != NULL &&
           wasml_string_member(region, "to_name") != NULL &&
           wasml_string_member(region, "type") != NULL &&
           cJSON_GetObjectItemCaseSensitive(region, "value") != NULL &&
           absent_or(region, "id", is_optional_string) &&
           absent_or(region, "score", is_optional_number);
}

/* The index of the first item of `list` that is not a region, or -1 when all are. */
static int first_non_region(const cJSON *list) {
    int i = 0;
    const cJSON *region;
    cJSON_ArrayForEach(region, list) {
        if (!is_region(region)) {
            return i;
        }
        i++;
    }
    return -1;
}

static bool is_region_list(const cJSON *json) {
    return cJSON_IsArray(json) && first_non_region(json) < 0;
}

/* An annotation embedded in a task. */
static bool is_annotation(const cJSON *annotation) {
    return cJSON_IsObject(annotation) && absent_or(annotation, "id", is_optional_integer) &&
           absent_or(annotation, "result", is_region_list) &&
           absent_or(annotation, "was_cancelled", is_bool);
}

static bool is_annotation_list(const cJSON *json) {
    if (!cJSON_IsArray(json)) {
        return false;
    }
    const cJSON *annotation;
    cJSON_ArrayForEach(annotation, json) {
        if (!is_annotation(annotation)) {
            return false;
        }
    }
    return true;
}

wasml_status wasml_check_task(const cJSON *task, size_t index) {
    const char *problem = NULL;
    if (!cJSON_IsObject(task)) {
        problem = "not a JSON object";
    } else if (!absent_or(task, "id", is_optional_integer)) {
        problem = "`id` is not an integer";
    } else if (!absent_or(task, "data", is_object)) {
        problem = "`data` is not an object";
    } else if (!absent_or(task, "annotations", is_annotation_list)) {
        problem = "`annotations` is not a list of annotations";
    }
    return problem ? wasml_fail(WASML_INVALID_INPUT, "task %zu: %s", index, problem) : WASML_OK;
}

wasml_status wasml_check_context(const cJSON *context) {
    if (!cJSON_IsObject(context)) {
        return wasml_fail(WASML_INVALID_INPUT, "context: not a JSON object");
    }
    const char *const ids[] = {"user_id", "annotation_id", "draft_id"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        if (!absent_or(context, ids[i], is_optional_integer)) {
            return wasml_fail(WASML_INVALID_INPUT, "context: `%s` is not an integer", ids[i]);
        }
    }
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(context, "result");
    if (result == NULL) {
        return WASML_OK;
    }
    if (!cJSON_IsArray(result)) {
        return wasml_fail(WASML_INVALID_INPUT, "context: `result` is not a list");
    }
    int bad = first_non_region(result);
    if (bad >= 0) {
        return wasml_fail(WASML_INVALID_INPUT,
                          "context: result %d is not a region (string from_name, to_name and "
                          "type, a value, an optional string id and number score)",
                          bad);
    }
    return WASML_OK;
}
