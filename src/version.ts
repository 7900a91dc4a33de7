/** Version of the feature engine and service, recorded in every result's provenance. */
export const ENGINE_VERSION = '0.1.0';

/** Name of the product as it appears in FHIR Device resources and card sources. */
export const PRODUCT_NAME = 'NQO1 CDS';
