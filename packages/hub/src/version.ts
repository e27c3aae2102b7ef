/** The hub's version, reported in runtime.json and the OpenAPI document. */
export const VERSION = '0.1.0';
