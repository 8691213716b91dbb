using Microsoft.Extensions.Primitives;

namespace CallMedia.Hosting;

/// <summary>
/// The parameters of a CallREC request: query string and, for a form POST, the body, taken together (the
/// original servlets read both). Bodies beyond <see cref="MaxFormBytes"/> are refused.
/// </summary>
public sealed class CallRecParameters
{
    public const long MaxFormBytes = 1024 * 1024;

    private readonly Dictionary<string, StringValues> _values;

    private CallRecParameters(Dictionary<string, StringValues> values) => _values = values;

    public static async Task<CallRecParameters> ReadAsync(HttpRequest request)
    {
        var values = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Query)
        {
            values[key] = value;
        }

        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            }
            catch (InvalidDataException)
            {
                throw new ParameterException("the form body is malformed or has too many values");
            }

            foreach (var (key, value) in form)
            {
                values[key] = values.TryGetValue(key, out var existing) ? StringValues.Concat(existing, value) : value;
            }
        }

        return new CallRecParameters(values);
    }

    public StringValues All(string name) => _values.TryGetValue(name, out var v) ? v : StringValues.Empty;

    /// <summary>
    /// A single-valued parameter: null when absent; <see cref="ParameterException"/> when given twice with
    /// different values (a conflict is a client bug, not something to guess about).
    /// </summary>
    public string? One(string name)
    {
        var values = All(name);
        if (values.Count == 0)
        {
            return null;
        }

        var first = values[0];
        if (values.Skip(1).Any(v => !string.Equals(v, first, StringComparison.Ordinal)))
        {
            throw new ParameterException($"parameter '{name}' is given more than once with different values");
        }

        return first;
    }
}

/// <summary>A bad request parameter; the message is safe to show to the client.</summary>
public sealed class ParameterException(string message) : Exception(message);
