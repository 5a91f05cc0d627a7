// Package autoreg is the registration protocol, both ends: an agent that
// has no externals on the central server posts its facts, its public key
// and, when it needs one, an enrollment token, signed with its key; the
// server decides whether the agent may have the host name, names the
// host, picks a profile by rules (or the token's), renders the profile's
// template into the host's externals file, records the host in its
// registry, binds the name to the agent's key and answers with the name
// the agent must report under.
//
// The agent's side is Facts (what the host is, without running anything),
// Client (POST with Fibonacci backoff until accepted, signed by its
// Signer) and SaveAssignment/LoadAssignment. The server's side is Tokens,
// Identities, Guard (who may register which name), Profiles, Registry,
// Assigner (the logic, without HTTP) and NewHandler. It imports no sibling
// package: the hub passes the externals check and the signed write as
// Assigner.Validate and Assigner.Write, and learns of each registration
// through HandlerOptions.Registered and of each refusal through
// HandlerOptions.Refused.
//
// # Identity
//
// A host name belongs to the key of the agent that registered it. The
// Guard admits a registration when the request is signed (signing's
// X-Picket-Auth, fresh, seen once) by the key bound to the name, with no
// token needed; or, for a name no key is bound to (or whose rekey an
// administrator asked for), when it carries a valid enrollment token and
// proves the new key it asks to bind. Any other key, or none, is refused
// for a bound name (ErrForbidden), and the Assigner writes nothing. Hosts
// in the registry before identities existed are "legacy": they may still
// register without a key (older agents) until one is bound. A token only
// admits; it is never a host's credential afterwards.
//
// Every registration is validated as strictly as the agent validates its
// own config (checkspec: names, cron, durations, with the same messages);
// its services for other hosts must be allowed by its profile's
// monitored_hosts and never name a host bound to another key.
//
// # Profiles
//
// profiles.toml picks a profile per host, first matching [[rule]] in file
// order, else default:
//
//	templates_dir = "profiles"   # relative to this file; default: its folder
//	default = "base"             # empty: hosts no rule matches are refused
//	[[rule]]
//	profile = "linux-web"
//	os = "linux"                 # case-insensitive, Go's GOOS
//	name = "^web[0-9]+"          # regexp on the assigned host name
//	metadata = ["web"]           # every tag must be in the agent's metadata
//
//	[profile.linux-web]
//	monitored_hosts = "db[0-9]+" # other hosts its agents may report for (the whole name)
//
// The template of profile P is <templates_dir>/P.toml, a text/template
// that sees .Host (the assigned name), .FQDN, .OS, .OSVersion, .Arch,
// .Address (the first address, or the host name), .Addresses,
// .AgentVersion, .Metadata and .Plugins (each .Name and .SHA256), with the
// functions has "tag" (the tag is in the metadata), plugin "check_x" (the
// agent has that plugin) and quote (a TOML string of any value, so facts
// the agent chose cannot break the file's structure).
//
// # On disk
//
// The agent side reads the token file and the plugin folders, and owns the
// assignment file it saves (JSON, 0644, replaced atomically). The server
// side reads the tokens file (refused when others can read it; re-read
// when it changes; one token per line, or the TOML form AddToken writes,
// [[token]] with name, sha256, hosts, profile, expires, max_uses),
// profiles.toml and its templates, and owns the registry file (JSON, 0644,
// replaced atomically), the token uses file (JSON, 0600), the identities
// file (JSON, 0644, public keys only; changed under identities.json.lock
// by the server and by administrators' commands alike, each change a
// read-modify-write, noticed by the other within a second) and, unless the
// hub's Write does it, the files <ExternalsDir>/<host>.toml it renders. A host's file that
// differs from what the server last wrote was edited by an administrator
// and is left alone until Assigner.Render is called with force.
//
// # Cancellation
//
// Client.Register retries until the server accepts or its context ends,
// then returns the context's error wrapped; each attempt is also bounded
// by AttemptTimeout. Facts stops DNS lookups and hashing when its context
// ends and returns what it has. Assigner.Register and Render look at
// their context before writing a host's file and write nothing once it
// has ended; the registry then records the facts with the context's
// error. Identities' changes wait for the lock until their context ends. A file written just before the registry failed to record it is
// recognised on the next registration, since it is identical to what the
// profile renders. No function of this package starts a goroutine that
// outlives it.
package autoreg
