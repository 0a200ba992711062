/*
 * The host's imports: the key/value store (with JSON helpers), the log and task data.
 *
 * The generated import functions borrow their arguments and hand their results to the
 * caller (allocated with cabi_realloc, i.e. malloc). The wrappers copy results into plain C
 * strings the model owns and free the generated values, so a model never meets a
 * model_string_t.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"

/* A WIT string borrowing the C string `s`. */
static model_string_t borrow(const char *s) {
    return (model_string_t){.ptr = (uint8_t *)s, .len = strlen(s)};
}

/* A NUL-terminated malloc'd copy of `len` bytes; traps when out of memory. */
static char *copy_bytes(const uint8_t *bytes, size_t len) {
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        __builtin_trap();
    }
    if (len > 0) {
        memcpy(copy, bytes, len);
    }
    copy[len] = '\0';
    return copy;
}

/* Turns a store error into the model's failure (the Rust helper layer's messages) and frees
 * it. */
static wasml_status store_failure(wasml_model_store_store_error_t *err) {
    wasml_status status;
    switch (err->tag) {
    case WASML_MODEL_TYPES_STORE_ERROR_TOO_LARGE:
        status = wasml_fail(WASML_INTERNAL, "store: value larger than %" PRIu64 " bytes",
                            err->val.too_large);
        break;
    case WASML_MODEL_TYPES_STORE_ERROR_INVALID_KEY:
        status = wasml_fail(WASML_INTERNAL, "store: invalid key: %.*s",
                            (int)err->val.invalid_key.len, (const char *)err->val.invalid_key.ptr);
        break;
    default:
        status = wasml_fail(WASML_INTERNAL, "store unavailable: %.*s",
                            (int)err->val.unavailable.len, (const char *)err->val.unavailable.ptr);
        break;
    }
    wasml_model_store_store_error_free(err);
    return status;
}

wasml_status wasml_store_get(const char *key, char **value, size_t *len, bool *found) {
    model_string_t k = borrow(key);
    model_option_list_u8_t got;
    wasml_model_store_store_error_t err;
    if (!wasml_model_store_get(&k, &got, &err)) {
        return store_failure(&err);
    }
    *found = got.is_some;
    *value = got.is_some ? copy_bytes(got.val.ptr, got.val.len) : NULL;
    *len = got.is_some ? got.val.len : 0;
    model_option_list_u8_free(&got);
    return WASML_OK;
}

wasml_status wasml_store_set(const char *key, const void *value, size_t len) {
    model_string_t k = borrow(key);
    model_list_u8_t v = {.ptr = (uint8_t *)value, .len = len};
    wasml_model_store_store_error_t err;
    return wasml_model_store_set(&k, &v, &err) ? WASML_OK : store_failure(&err);
}

wasml_status wasml_store_delete(const char *key, bool *existed) {
    model_string_t k = borrow(key);
    bool was_there;
    wasml_model_store_store_error_t err;
    if (!wasml_model_store_delete(&k, &was_there, &err)) {
        return store_failure(&err);
    }
    if (existed != NULL) {
        *existed = was_there;
    }
    return WASML_OK;
}

wasml_status wasml_store_list_keys(const char *prefix, wasml_keys *keys) {
    model_string_t p = borrow(prefix);
    model_list_string_t got;
    wasml_model_store_store_error_t err;
    *keys = (wasml_keys){0};
    if (!wasml_model_store_list_keys(&p, &got, &err)) {
        return store_failure(&err);
    }
    keys->keys = got.len > 0 ? malloc(got.len * sizeof *keys->keys) : NULL;
    if (got.len > 0 && keys->keys == NULL) {
        __builtin_trap();
    }
    for (size_t i = 0; i < got.len; i++) {
        keys->keys[i] = copy_bytes(got.ptr[i].ptr, got.ptr[i].len);
    }
    keys->len = got.len;
    model_list_string_free(&got);
    return WASML_OK;
}

void wasml_keys_free(wasml_keys *keys) {
    for (size_t i = 0; i < keys->len; i++) {
        free(keys->keys[i]);
    }
    free(keys->keys);
    *keys = (wasml_keys){0};
}

wasml_status wasml_store_get_json(const char *key, cJSON **value) {
    char *bytes;
    size_t len;
    bool found;
    *value = NULL;
    wasml_status status = wasml_store_get(key, &bytes, &len, &found);
    if (status != WASML_OK || !found) {
        return status;
    }
    *value = wasml_json_parse(bytes, len);
    free(bytes);
    if (*value == NULL) {
        return wasml_fail(WASML_INTERNAL, "store: the value of %s is not JSON", key);
    }
    return WASML_OK;
}

wasml_status wasml_store_set_json(const char *key, const cJSON *value) {
    char *text = cJSON_PrintUnformatted(value);
    if (text == NULL) {
        __builtin_trap(); /* out of memory (value is a valid tree) */
    }
    wasml_status status = wasml_store_set(key, text, strlen(text));
    free(text);
    return status;
}

void wasml_log(wasml_log_level level, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int len = vsnprintf(NULL, 0, format, args);
    va_end(args);
    if (len < 0) {
        return; /* a bad format: nothing to log */
    }
    char *message = malloc((size_t)len + 1);
    if (message == NULL) {
        __builtin_trap();
    }
    va_start(args, format);
    vsnprintf(message, (size_t)len + 1, format, args);
    va_end(args);
    model_string_t m = {.ptr = (uint8_t *)message, .len = (size_t)len};
    /* wasml_log_level lists the host's levels in the WIT order. */
    wasml_model_log_log((wasml_model_log_level_t)level, &m);
    free(message);
}

/* The name of a fetch error's case, as the WIT spells it. */
static const char *fetch_kind(uint8_t tag) {
    switch (tag) {
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_NOT_ALLOWED:
        return "not-allowed";
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_NOT_FOUND:
        return "not-found";
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_UNAUTHORIZED:
        return "unauthorized";
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_TOO_LARGE:
        return "too-large";
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_TIMEOUT:
        return "timeout";
    case WASML_MODEL_TASK_DATA_FETCH_ERROR_INVALID_URL:
        return "invalid-url";
    default:
        return "unavailable";
    }
}

wasml_status wasml_fetch(const char *reference, int64_t task_id, wasml_fetched *out) {
    model_string_t url = borrow(reference);
    uint64_t id = (uint64_t)task_id;
    wasml_model_task_data_fetched_t got;
    wasml_model_task_data_fetch_error_t err;
    *out = (wasml_fetched){0};
    if (!wasml_model_task_data_fetch(&url, task_id < 0 ? NULL : &id, &got, &err)) {
        /* Every case carries its message in the same place of the union. */
        wasml_status status =
            wasml_fail(WASML_INVALID_INPUT, "%s: %.*s", fetch_kind(err.tag),
                       (int)err.val.unavailable.len, (const char *)err.val.unavailable.ptr);
        wasml_model_task_data_fetch_error_free(&err);
        return status;
    }
    out->bytes = copy_bytes(got.bytes.ptr, got.bytes.len);
    out->len = got.bytes.len;
    out->content_type = got.content_type.is_some
                            ? copy_bytes(got.content_type.val.ptr, got.content_type.val.len)
                            : NULL;
    wasml_model_task_data_fetched_free(&got);
    return WASML_OK;
}

void wasml_fetched_free(wasml_fetched *fetched) {
    free(fetched->bytes);
    free(fetched->content_type);
    *fetched = (wasml_fetched){0};
}
