/**
 * The version of the service, reported by `/healthz`; CHANGELOG.md's newest entry names it.
 *
 * @module
 */

/** This release, in semantic versioning. */
export const VERSION = "0.8.4";
