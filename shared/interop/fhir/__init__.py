"""FHIR R4 Da Vinci admit/discharge notification bundles in: parse, map to events, answer."""
