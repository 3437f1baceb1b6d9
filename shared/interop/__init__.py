"""Hospital system messages in (HL7 v2 ADT, FHIR R4 notifications): pure parsing, events out."""
