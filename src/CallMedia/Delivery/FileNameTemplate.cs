using System.Globalization;
using System.Text;
using CallMedia.Calls;

namespace CallMedia.Delivery;

/// <summary>A file-name template does not parse; the message names the placeholder or format at fault.</summary>
public sealed class TemplateException(string message) : Exception(message);

/// <summary>
/// File names by a customer's convention (<c>Delivery:FileNameTemplate</c>, or a token's <c>name=</c>), e.g.
/// <c>{start:yyyy-MM-dd_HHmmss}_{calling}_{called}_{id}</c>: literal text and placeholders, <c>{{</c> and <c>}}</c>
/// for braces. Times are shown in the delivery's time zone with a .NET custom date format (default
/// <c>yyyyMMdd'T'HHmmss</c>). The result is only the name's body: <see cref="EntryNames.Templated"/> makes it safe and
/// adds the number and extension.
/// </summary>
public sealed class FileNameTemplate
{
    public const int MaxLength = 500;

    public const string DefaultTimeFormat = "yyyyMMdd'T'HHmmss";

    public static readonly IReadOnlyList<string> Placeholders =
        ["id", "sid", "start", "stop", "calling", "callingName", "called", "calledName", "direction", "duration", "type"];

    private readonly List<(string? Literal, string? Name, string? Format)> _parts;

    private FileNameTemplate(List<(string?, string?, string?)> parts) => _parts = parts;

    /// <summary>Parses <paramref name="template"/>; throws <see cref="TemplateException"/> naming what is wrong.</summary>
    public static FileNameTemplate Parse(string template)
    {
        if (template.Length is 0 or > MaxLength)
        {
            throw new TemplateException($"a file-name template has 1 to {MaxLength} characters");
        }

        var parts = new List<(string?, string?, string?)>();
        var literal = new StringBuilder();
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                literal.Append(c);
                i++;
                continue;
            }

            if (c == '}')
            {
                throw new TemplateException("a '}' without its '{' (write '}}' for a brace)");
            }

            if (c != '{')
            {
                literal.Append(c);
                continue;
            }

            var close = template.IndexOf('}', i + 1);
            if (close < 0)
            {
                throw new TemplateException("a '{' without its '}' (write '{{' for a brace)");
            }

            var inside = template[(i + 1)..close];
            var colon = inside.IndexOf(':', StringComparison.Ordinal);
            var name = colon < 0 ? inside : inside[..colon];
            var format = colon < 0 ? null : inside[(colon + 1)..];
            if (!Placeholders.Contains(name, StringComparer.Ordinal))
            {
                throw new TemplateException($"unknown placeholder {{{Clip(name)}}}; the placeholders are {string.Join(' ', Placeholders.Select(p => "{" + p + "}"))}");
            }

            if (format is not null)
            {
                format = CheckFormat(name, format);
            }

            if (literal.Length > 0)
            {
                parts.Add((literal.ToString(), null, null));
                literal.Clear();
            }

            parts.Add((null, name, format));
            i = close;
        }

        if (literal.Length > 0)
        {
            parts.Add((literal.ToString(), null, null));
        }

        return new FileNameTemplate(parts);
    }

    /// <summary>The name's body for a couple's file of <paramref name="type"/>, times in <paramref name="zone"/>.</summary>
    public string Render(Couple couple, int type, TimeZoneInfo zone)
    {
        var text = new StringBuilder();
        foreach (var (literal, name, format) in _parts)
        {
            text.Append(literal ?? Value(couple, type, zone, name!, format));
        }

        return text.ToString();
    }

    /// <summary>
    /// <c>in</c> when only the called party is an extension (at most <see cref="ExtensionDigits"/> digits), <c>out</c>
    /// when only the caller is, <c>internal</c> when both are, <c>external</c> when neither is.
    /// </summary>
    public static string Direction(Couple couple) => (IsExtension(couple.CallingNumber), IsExtension(couple.CalledNumber)) switch
    {
        (false, true) => "in",
        (true, false) => "out",
        (true, true) => "internal",
        _ => "external",
    };

    public const int ExtensionDigits = 6;

    private static bool IsExtension(string number) => number.Length is > 0 and <= ExtensionDigits && number.All(char.IsAsciiDigit);

    private static string Value(Couple c, int type, TimeZoneInfo zone, string name, string? format) => name switch
    {
        "id" => c.Id.ToString(CultureInfo.InvariantCulture),
        "sid" => c.Sid,
        "start" => TimeZoneInfo.ConvertTime(c.Start, zone).ToString(format ?? DefaultTimeFormat, CultureInfo.InvariantCulture),
        "stop" => TimeZoneInfo.ConvertTime(c.Stop, zone).ToString(format ?? DefaultTimeFormat, CultureInfo.InvariantCulture),
        "calling" => c.CallingNumber,
        "callingName" => c.CallingName,
        "called" => c.CalledNumber,
        "calledName" => c.CalledName,
        "direction" => Direction(c),
        "duration" => Math.Round(Math.Max(0, c.StopAt - c.StartAt) / 1000.0, MidpointRounding.AwayFromZero).ToString(CultureInfo.InvariantCulture),
        _ => MediaType.Names(type) is [var first, ..] ? first : "media",
    };

    /// <summary>The .NET custom date and time format specifiers (one letter alone is one of these, not a standard format).</summary>
    private const string CustomSpecifiers = "dfFghHKmMstyz";

    /// <summary>
    /// Checks a <c>{start:…}</c> or <c>{stop:…}</c> format: a .NET custom date format, a single letter being its custom
    /// specifier (<c>K</c>, <c>d</c>; written <c>%K</c> for .NET). Refused: what .NET refuses, a format without any date
    /// or time specifier, and a format that yields a path separator. Returns the format as .NET takes it.
    /// </summary>
    private static string CheckFormat(string name, string format)
    {
        if (name is not ("start" or "stop"))
        {
            throw new TemplateException($"placeholder {{{name}}} takes no format (only {{start:...}} and {{stop:...}} do)");
        }

        var custom = format.Length == 1 ? "%" + format : format;
        try
        {
            if (format.Length is 0 or > 64 || format.Any(char.IsControl) || !format.Any(c => CustomSpecifiers.Contains(c, StringComparison.Ordinal)))
            {
                throw new FormatException();
            }

            var sample = new DateTimeOffset(2026, 12, 31, 23, 59, 58, TimeSpan.FromHours(-5)).ToString(custom, CultureInfo.InvariantCulture);
            if (sample.AsSpan().IndexOfAny('/', '\\') >= 0)
            {
                throw new TemplateException($"{{{name}:{Clip(format)}}} would put a path separator in the name (use - or _ between date parts)");
            }
        }
        catch (FormatException)
        {
            throw new TemplateException($"{{{name}:{Clip(format)}}} has no valid date format (e.g. {{{name}:yyyy-MM-dd_HHmmss}})");
        }

        return custom;
    }

    private static string Clip(string text)
    {
        var clean = new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 40 ? clean + "…" : clean;
    }
}
