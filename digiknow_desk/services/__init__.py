"""One service class per area; each public method is one transaction and returns plain records."""
