/** Signed firmware metadata and the A/B install model (issue 6, in progress). */
export {};
