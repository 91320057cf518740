"""Mail views, one module per screen: `accounts` (add/edit accounts), `mailbox` (folders and list),
`reading` (a message, its frame, parts and source)."""
