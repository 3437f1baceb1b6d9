"""HL7 v2 ADT (ER7) in: decode per MSH-18, parse, map to events, build the ACK, frame MLLP."""
