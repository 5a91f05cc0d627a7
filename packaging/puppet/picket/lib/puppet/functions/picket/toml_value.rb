# frozen_string_literal: true

# @summary Renders a value as TOML: a string as a basic string, escaped so
#   that any content (quotes, backslashes, control characters) stays one
#   string; integers and booleans as they are; arrays of those as an inline
#   array.
#
# @example In an EPP template
#   hostname = <%= picket::toml_value($hostname) %>
Puppet::Functions.create_function(:'picket::toml_value') do
  # @param value The value to render.
  # @return [String] The value as TOML.
  dispatch :render do
    param 'Variant[String, Integer, Boolean, Array[Variant[String, Integer, Boolean]]]', :value
    return_type 'String'
  end

  # The escapes TOML names; every other control character, and DEL, is
  # written as \uXXXX.
  ESCAPES = {
    '"' => '\\"',
    '\\' => '\\\\',
    "\b" => '\\b',
    "\t" => '\\t',
    "\n" => '\\n',
    "\f" => '\\f',
    "\r" => '\\r',
  }.freeze

  def render(value)
    case value
    when String
      '"' + value.gsub(%r{["\\\x00-\x1f\x7f]}) { |c| ESCAPES[c] || format('\\u%04X', c.ord) } + '"'
    when Array
      '[' + value.map { |v| render(v) }.join(', ') + ']'
    else
      value.to_s
    end
  end
end
