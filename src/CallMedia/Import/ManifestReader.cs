using System.Globalization;
using System.Text;
using CallMedia.Calls;

namespace CallMedia.Import;

/// <summary>One valid manifest row: one media file of a couple.</summary>
public sealed record ManifestRow(
    int Line,
    string Sid,
    DateTimeOffset Start,
    DateTimeOffset Stop,
    string CallingNumber,
    string CallingName,
    string CalledNumber,
    string CalledName,
    int Type,
    string Path,
    DateTimeOffset FileStart,
    DateTimeOffset FileStop,
    long? CoupleId);

/// <summary>A row that cannot be imported, with the reason; <see cref="Sid"/> when it could be read.</summary>
public sealed record ManifestError(int Line, string? Sid, string Message);

/// <summary>
/// Reads an import manifest (API.md §8): UTF-8 CSV with a header naming at least
/// <c>sid,start,stop,calling_number,called_number,type,path</c>. Each bad row becomes a <see cref="ManifestError"/>
/// with its line number; reading never stops at the first one.
/// </summary>
public static class ManifestReader
{
    public static readonly string[] Required = ["sid", "start", "stop", "calling_number", "called_number", "type", "path"];

    private static readonly string[] Optional = ["calling_name", "called_name", "file_start", "file_stop", "couple_id"];

    /// <summary>Longest sid, in characters: room for every PBX's ids, short enough for a file name.</summary>
    public const int MaxSidLength = 200;

    /// <summary>Longest calling or called number, in characters (SIP addresses included).</summary>
    public const int MaxNumberLength = 128;

    /// <summary>Longest calling or called party name, in characters.</summary>
    public const int MaxNameLength = 200;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static (List<ManifestRow> Rows, List<ManifestError> Errors) Read(string manifestPath)
    {
        var rows = new List<ManifestRow>();
        var errors = new List<ManifestError>();
        var baseDir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(manifestPath))!;
        Dictionary<string, int>? columns = null;
        foreach (var (line, text) in Records(File.ReadAllBytes(manifestPath)))
        {
            if (text is null)
            {
                errors.Add(new ManifestError(line, null, "not valid UTF-8"));
                continue;
            }

            if (text.Length == 0)
            {
                continue;
            }

            List<string> fields;
            try
            {
                fields = SplitCsv(text);
            }
            catch (FormatException ex)
            {
                errors.Add(new ManifestError(line, null, ex.Message));
                continue;
            }

            if (columns is null)
            {
                columns = fields.Select((name, i) => (name: name.Trim().ToLowerInvariant(), i)).GroupBy(c => c.name).ToDictionary(g => g.Key, g => g.First().i);
                var missing = Required.Where(r => !columns.ContainsKey(r)).ToList();
                if (missing.Count > 0)
                {
                    throw new BadManifestException($"manifest header lacks {string.Join(", ", missing)} (needs {string.Join(",", Required)})");
                }

                var unknown = columns.Keys.Where(c => !Required.Contains(c) && !Optional.Contains(c)).ToList();
                if (unknown.Count > 0)
                {
                    throw new BadManifestException($"manifest header has unknown column {unknown[0]}");
                }

                continue;
            }

            var parsed = ParseRow(line, fields, columns, baseDir);
            if (parsed.Error is not null)
            {
                errors.Add(parsed.Error);
            }
            else
            {
                rows.Add(parsed.Row!);
            }
        }

        if (columns is null)
        {
            throw new BadManifestException("the manifest is empty");
        }

        return (rows, errors);
    }

    private static (ManifestRow? Row, ManifestError? Error) ParseRow(int line, List<string> fields, Dictionary<string, int> columns, string baseDir)
    {
        string Get(string name) => columns.TryGetValue(name, out var i) && i < fields.Count ? fields[i].Trim() : "";
        var sid = Get("sid");
        ManifestError Fail(string message) => new(line, sid.Length > 0 ? sid : null, message);

        if (fields.Count != columns.Count)
        {
            return (null, Fail($"has {fields.Count} fields, the header has {columns.Count}"));
        }

        if (sid.Length == 0)
        {
            return (null, Fail("sid is empty"));
        }

        foreach (var (column, max) in (ReadOnlySpan<(string, int)>)[("sid", MaxSidLength), ("calling_number", MaxNumberLength), ("called_number", MaxNumberLength), ("calling_name", MaxNameLength), ("called_name", MaxNameLength)])
        {
            if (TextProblem(Get(column), max) is { } problem)
            {
                return (null, Fail($"{column} {problem}"));
            }
        }

        if (!TryTime(Get("start"), out var start) || !TryTime(Get("stop"), out var stop))
        {
            return (null, Fail("start or stop is not an ISO 8601 time"));
        }

        if (stop < start)
        {
            return (null, Fail("stop is before start"));
        }

        var fileStart = start;
        var fileStop = stop;
        if ((Get("file_start") is { Length: > 0 } fs && !TryTime(fs, out fileStart)) || (Get("file_stop") is { Length: > 0 } fe && !TryTime(fe, out fileStop)))
        {
            return (null, Fail("file_start or file_stop is not an ISO 8601 time"));
        }

        var type = MediaType.Parse(Get("type").ToLowerInvariant());
        if (type is null)
        {
            return (null, Fail($"unknown type '{Get("type")}' (audio, video or recd)"));
        }

        long? coupleId = null;
        if (Get("couple_id") is { Length: > 0 } idText)
        {
            if (!long.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            {
                return (null, Fail("couple_id is not a positive integer"));
            }

            coupleId = id;
        }

        var path = Get("path");
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            return (null, Fail("path is empty"));
        }

        var full = System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(baseDir, path));
        var calling = Get("calling_number");
        var called = Get("called_number");
        if (calling.Length == 0 || called.Length == 0)
        {
            return (null, Fail("calling_number and called_number are required"));
        }

        return (new ManifestRow(line, sid, start, stop, calling, Get("calling_name"), called, Get("called_name"), type.Value, full, fileStart, fileStop, coupleId), null);
    }

    /// <summary>Why a text field cannot be stored: longer than <paramref name="max"/> characters, or with control characters.</summary>
    public static string? TextProblem(string value, int max)
    {
        var length = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            if (Rune.IsControl(rune))
            {
                return "has control characters";
            }

            length++;
        }

        return length > max ? $"is longer than {max} characters ({length})" : null;
    }

    public static bool TryTime(string text, out DateTimeOffset value) => IsoTime.TryParse(text, out value);

    /// <summary>Logical records with their first line number; a quoted field may span lines. Null text: not UTF-8.</summary>
    private static IEnumerable<(int Line, string? Text)> Records(byte[] bytes)
    {
        var start = bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0;
        var line = 1;
        var recordLine = 1;
        var pending = new StringBuilder();
        var bad = false;
        while (start <= bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            var stop = end < 0 ? bytes.Length : end;
            var length = stop - start;
            if (length > 0 && bytes[stop - 1] == '\r')
            {
                length--;
            }

            try
            {
                pending.Append(StrictUtf8.GetString(bytes, start, length));
            }
            catch (DecoderFallbackException)
            {
                bad = true;
            }

            var text = pending.ToString();
            if (bad || text.Count(c => c == '"') % 2 == 0 || end < 0)
            {
                yield return (recordLine, bad ? null : text);
                pending.Clear();
                bad = false;
                recordLine = line + 1;
            }
            else
            {
                pending.Append('\n');
            }

            if (end < 0)
            {
                break;
            }

            start = end + 1;
            line++;
        }
    }

    /// <summary>RFC 4180 fields: commas separate, double quotes quote, a doubled quote is a quote.</summary>
    public static List<string> SplitCsv(string record)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < record.Length; i++)
        {
            var c = record[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < record.Length && record[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new FormatException("unterminated quoted field");
        }

        fields.Add(field.ToString());
        return fields;
    }
}
