# @summary One NSCA server the agent sends every result to: a [[target]]
#   of picket.toml. The password is the class's nsca_password, written to
#   /etc/picket/nsca.secret, the same for every target.
#
# address: "host:port"; or the host alone when port is given (an IPv6
#   address is put in brackets).
# group: targets sharing a group form a failover chain, in the order given.
# encryption: a method name ("aes256", "none", ...) or number; the agent's
#   default is "xor".
# legacy: 720-byte packets for NSCA 2.7 daemons.
# timeout: the send timeout, e.g. "10s".
type Picket::Target = Struct[{
  address              => String[1],
  Optional[port]       => Integer[1, 65535],
  Optional[group]      => String[1],
  Optional[encryption] => Variant[String[1], Integer[0, 255]],
  Optional[legacy]     => Boolean,
  Optional[timeout]    => Picket::Duration,
}]
