"""The MLLP listener: HL7 v2 over TCP, its own small asyncio process (`handover mllp`)."""
