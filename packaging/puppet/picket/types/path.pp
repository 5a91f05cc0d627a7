# @summary An absolute path on the agent's host.
type Picket::Path = Pattern[/\A\/./]
