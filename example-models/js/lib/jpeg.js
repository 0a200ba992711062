// JPEG decoding: not yet available in the JavaScript helper (see the README).

import { invalidInput } from './errors.js';

/** The bytes every JPEG file starts with. */
export const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** Refuses JPEG files with a clear error: only PNG is decoded by this helper. */
export function decodeJpeg() {
  throw invalidInput('JPEG images are not supported by the JavaScript helper yet: use PNG');
}
