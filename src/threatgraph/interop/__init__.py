"""Interoperability with other threat modeling tools: pytm and the Open Threat Model (OTM)."""
