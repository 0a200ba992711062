/* The failure message of the current call (see wasml_fail in wasml.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

/* The formatted message of the last wasml_fail; NULL before any. Each call of an export
 * runs to completion before the next starts, so one static is enough. */
static char *message;

wasml_status wasml_fail(wasml_status status, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int len = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *formatted = len >= 0 ? malloc((size_t)len + 1) : NULL;
    if (formatted != NULL) {
        va_start(args, format);
        vsnprintf(formatted, (size_t)len + 1, format, args);
        va_end(args);
    }
    free(message);
    message = formatted; /* NULL (no message) only when out of memory or a bad format */
    return status;
}

const char *wasml_error_message(void) {
    return message != NULL ? message : "";
}

void wasml_error_reset(void) {
    free(message);
    message = NULL;
}
