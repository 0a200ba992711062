/* Lookups in the label config the host parsed (see wasml.h). */
#include <string.h>

#include "wasml.h"

const wasml_control *wasml_control_named(const wasml_label_config *config, const char *name) {
    for (size_t i = 0; i < config->n_controls; i++) {
        if (strcmp(config->controls[i].name, name) == 0) {
            return &config->controls[i];
        }
    }
    return NULL;
}

const wasml_control *wasml_first_control(const wasml_label_config *config, const char *tag) {
    for (size_t i = 0; i < config->n_controls; i++) {
        if (strcmp(config->controls[i].tag, tag) == 0) {
            return &config->controls[i];
        }
    }
    return NULL;
}

const wasml_input *wasml_control_input(const wasml_control *control, const char *name) {
    for (size_t i = 0; i < control->n_inputs; i++) {
        if (strcmp(control->inputs[i].name, name) == 0) {
            return &control->inputs[i];
        }
    }
    return NULL;
}
