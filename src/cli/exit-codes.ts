// The command line's exit statuses, one meaning each across commands (docs/cli.md). 2 is also the
// status the gateway itself exits with when its configuration, rules or users file are invalid, so
// `check` fails exactly where the gateway would not start.

/** check: the gateway would start; explain: the gateway would deliver the file; done. */
export const EXIT_OK = 0
/** explain: the gateway would refuse the request (any 4xx). */
export const EXIT_REFUSED = 1
/** A usage error, or a configuration, rule or users-file problem the gateway would not start with. */
export const EXIT_INVALID = 2
/** check --connect: the configuration is valid but the session store cannot be reached. */
export const EXIT_STORE_UNREACHABLE = 3
