// Logging into the host's log, tagged with the model's name.

import { log } from 'wasml:model/log@0.1.0';

/** Logs at debug level. */
export function debug(message) {
  log('debug', message);
}

/** Logs at info level. */
export function info(message) {
  log('info', message);
}

/** Logs at warn level. */
export function warn(message) {
  log('warn', message);
}

/** Logs at error level. */
export function error(message) {
  log('error', message);
}
