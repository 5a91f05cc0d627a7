# @summary A duration as the agent writes it: "90s", "5m", "1h30m".
type Picket::Duration = Pattern[/\A([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+\z/]
