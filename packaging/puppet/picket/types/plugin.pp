# @summary A plugin deployed into /etc/picket/plugins.d: exactly one of
#   source (a puppet:/// URL or anything a file resource takes as source)
#   and content, and the file mode (default "0750", owner root, group
#   picket, so the agent can run it and nobody else can change it).
type Picket::Plugin = Struct[{
  Optional[source]  => String[1],
  Optional[content] => String,
  Optional[mode]    => Pattern[/\A0?[0-7]{3}\z/],
}]
