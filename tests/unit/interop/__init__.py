"""Pure tests of the HL7 v2 and FHIR message mapping (shared/interop)."""
