# @summary An http or https URL, as the agent's [externals] and [autoreg]
#   sections take it.
type Picket::Url = Pattern[/\Ahttps?:\/\/[^\s\/]+/]
