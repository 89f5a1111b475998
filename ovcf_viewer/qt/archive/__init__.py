"""Archive (PACS) in the GUI: Query/Retrieve, Send to archive, and the nodes editor."""
