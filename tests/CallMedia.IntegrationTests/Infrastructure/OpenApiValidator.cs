using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace CallMedia.IntegrationTests.Infrastructure;

/// <summary>
/// Checks a response against the server's own OpenAPI document: the status code is declared for the operation, the
/// content type is one it declares, and a JSON body matches the schema (types, required and undeclared properties,
/// date-times, array items, $ref, nullable type lists, oneOf/anyOf/allOf) — the subset the document uses.
/// </summary>
public sealed class OpenApiValidator
{
    private readonly JsonElement _document;
    private readonly List<(Regex Pattern, string Template)> _paths;

    public OpenApiValidator(JsonDocument document)
    {
        _document = document.RootElement;
        _paths = _document.GetProperty("paths").EnumerateObject()
            .Select(p => (new Regex("^" + Regex.Replace(Regex.Escape(p.Name), "\\\\\\{[^}]*}", "[^/]+") + "$", RegexOptions.CultureInvariant), p.Name))
            .ToList();
    }

    public IReadOnlyCollection<string> Templates => _paths.Select(p => p.Template).ToList();

    /// <summary>Returns the problems found; empty when the response conforms.</summary>
    public IReadOnlyList<string> Check(string method, string path, int status, string? contentType, string body)
    {
        var errors = new List<string>();
        var bare = path.Split('?')[0];
        var template = _paths.FirstOrDefault(p => p.Pattern.IsMatch(bare)).Template;
        if (template is null)
        {
            return [$"{method} {bare}: no path of the document matches"];
        }

        if (!_document.GetProperty("paths").GetProperty(template).TryGetProperty(method.ToLowerInvariant(), out var operation))
        {
            return [$"{method} {template}: the document has no such operation"];
        }

        var responses = operation.GetProperty("responses");
        if (!responses.TryGetProperty(status.ToString(CultureInfo.InvariantCulture), out var response) && !responses.TryGetProperty("default", out response))
        {
            return [$"{method} {template}: status {status} is not declared (declared: {string.Join(", ", responses.EnumerateObject().Select(r => r.Name))})"];
        }

        if (!response.TryGetProperty("content", out var content))
        {
            if (body.Length > 0 && status != 304)
            {
                errors.Add($"{method} {template} {status}: a body where the document declares none");
            }

            return errors;
        }

        var media = (contentType ?? "").Split(';')[0].Trim();
        if (!content.TryGetProperty(media, out var declared))
        {
            errors.Add($"{method} {template} {status}: content type '{media}' not declared (declared: {string.Join(", ", content.EnumerateObject().Select(c => c.Name))})");
            return errors;
        }

        if (media.EndsWith("json", StringComparison.Ordinal) && declared.TryGetProperty("schema", out var schema))
        {
            using var json = JsonDocument.Parse(body);
            Validate(schema, json.RootElement, "$", errors);
        }

        return errors.Select(e => e.StartsWith('$') ? $"{method} {template} {status}: {e}" : e).ToList();
    }

    private JsonElement Resolve(JsonElement schema)
    {
        while (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference))
        {
            var target = _document;
            foreach (var part in reference.GetString()!.TrimStart('#', '/').Split('/'))
            {
                target = target.GetProperty(part);
            }

            schema = target;
        }

        return schema;
    }

    private void Validate(JsonElement schema, JsonElement value, string at, List<string> errors)
    {
        schema = Resolve(schema);
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var combinator in (string[])["oneOf", "anyOf"])
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                var passing = options.EnumerateArray().Count(o =>
                {
                    var inner = new List<string>();
                    Validate(o, value, at, inner);
                    return inner.Count == 0;
                });
                if (passing == 0 || (combinator == "oneOf" && passing > 1))
                {
                    errors.Add($"{at}: {passing} of the {combinator} alternatives match");
                }
            }
        }

        if (schema.TryGetProperty("allOf", out var all))
        {
            foreach (var part in all.EnumerateArray())
            {
                Validate(part, value, at, errors);
            }
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            if (!types.Any(t => Is(t, value)))
            {
                errors.Add($"{at}: {value.ValueKind} where the document says {string.Join("|", types)}");
                return;
            }
        }

        if (schema.TryGetProperty("enum", out var choices) && !choices.EnumerateArray().Any(c => c.GetRawText() == value.GetRawText()))
        {
            errors.Add($"{at}: {value.GetRawText()} is not one of the enum values");
        }

        if (value.ValueKind == JsonValueKind.String && schema.TryGetProperty("format", out var format) && format.GetString() == "date-time"
            && !DateTimeOffset.TryParseExact(value.GetString(), ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            errors.Add($"{at}: '{value.GetString()}' is not an ISO 8601 date-time with an offset");
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            var properties = schema.TryGetProperty("properties", out var p) ? p : default;
            if (schema.TryGetProperty("required", out var required))
            {
                foreach (var name in required.EnumerateArray().Select(r => r.GetString()!))
                {
                    if (!value.TryGetProperty(name, out _))
                    {
                        errors.Add($"{at}: required property '{name}' is missing");
                    }
                }
            }

            if (properties.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in value.EnumerateObject())
                {
                    if (properties.TryGetProperty(property.Name, out var propertySchema))
                    {
                        Validate(propertySchema, property.Value, $"{at}.{property.Name}", errors);
                    }
                    else if (!schema.TryGetProperty("additionalProperties", out _))
                    {
                        errors.Add($"{at}: property '{property.Name}' is not in the document");
                    }
                }
            }
        }

        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            var i = 0;
            foreach (var item in value.EnumerateArray())
            {
                Validate(items, item, $"{at}[{i++}]", errors);
            }
        }
    }

    private static bool Is(string type, JsonElement value) => type switch
    {
        "null" => value.ValueKind == JsonValueKind.Null,
        "string" => value.ValueKind == JsonValueKind.String,
        "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out _),
        "number" => value.ValueKind == JsonValueKind.Number,
        "boolean" => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "array" => value.ValueKind == JsonValueKind.Array,
        "object" => value.ValueKind == JsonValueKind.Object,
        _ => false,
    };
}
