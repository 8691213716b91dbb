using System.Globalization;
using System.Text;
using System.Text.Json;
using CallMedia.Calls;
using CallMedia.Hosting;

namespace CallMedia.Delivery;

/// <summary>A converted file delivered instead of the stored one: its own format, size and hashes, and its channels.</summary>
public sealed record DeliveredFile(string Format, long Size, uint Crc32, string? Sha256, string Channels);

/// <summary>The rows of <c>calldata.txt</c> (API.md §3 "The zip"), and the same facts as <c>calldata.json</c>.</summary>
public sealed class CallDataManifest
{
    public const string FileName = "calldata.txt";

    public const string JsonFileName = "calldata.json";

    private readonly List<(Couple Couple, int Type, string? Entry, MediaFile? File, string Status, DeliveredFile? Delivered)> _rows = [];

    private const string Header =
        "couple_id\tsid\tstart_utc\tstop_utc\tcalling_number\tcalling_name\tcalled_number\tcalled_name\ttype\tentry\tsize\tcrc32\tstatus\n";

    private readonly StringBuilder _text = new(Header);

    public void Add(Couple couple, int type, string? entry, MediaFile? file, string status, DeliveredFile? delivered = null)
    {
        _rows.Add((couple, type, entry, file, status, delivered));
        _text.AppendJoin(
            '\t',
            couple.Id.ToString(CultureInfo.InvariantCulture),
            Clean(couple.Sid),
            Iso(couple.Start),
            Iso(couple.Stop),
            Clean(couple.CallingNumber),
            Clean(couple.CallingName),
            Clean(couple.CalledNumber),
            Clean(couple.CalledName),
            type.ToString(CultureInfo.InvariantCulture),
            entry ?? "",
            (delivered?.Size ?? file?.Size)?.ToString(CultureInfo.InvariantCulture) ?? "",
            delivered is not null ? delivered.Crc32.ToString("x8", CultureInfo.InvariantCulture) : file is null ? "" : file.Crc32.ToString("x8", CultureInfo.InvariantCulture),
            status);
        _text.Append('\n');
    }

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(_text.ToString());

    /// <summary>
    /// <c>calldata.json</c>: one object per couple, in the order asked, with its parties, times in UTC and in
    /// <paramref name="zone"/>, duration, status and media (type, format, entry, size, CRC-32, SHA-256 when known,
    /// status, channels delivered). Nothing in it depends on when it was made, so a range of the zip reads the same bytes.
    /// </summary>
    public byte[] ToJson(TimeZoneInfo zone)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("timeZone", zone.Id);
            json.WriteStartArray("calls");
            foreach (var group in _rows.GroupBy(r => r.Couple.Id))
            {
                var couple = group.First().Couple;
                json.WriteStartObject();
                json.WriteNumber("id", couple.Id);
                json.WriteString("sid", couple.Sid);
                Party(json, "calling", couple.CallingNumber, couple.CallingName);
                Party(json, "called", couple.CalledNumber, couple.CalledName);
                json.WriteString("direction", FileNameTemplate.Direction(couple));
                json.WriteString("start", Iso(couple.Start));
                json.WriteString("stop", Iso(couple.Stop));
                json.WriteString("startLocal", Local(couple.Start, zone));
                json.WriteString("stopLocal", Local(couple.Stop, zone));
                json.WriteNumber("durationSeconds", Math.Max(0, couple.StopAt - couple.StartAt) / 1000.0);
                json.WriteString("status", group.Any(r => r.Status == "ok") ? "ok" : group.First().Status);
                json.WriteStartArray("media");
                foreach (var row in group.Where(r => r.File is not null || r.Delivered is not null))
                {
                    json.WriteStartObject();
                    json.WriteString("type", MediaType.Names(row.Type) is [var name, ..] ? name : "other");
                    json.WriteString("format", row.Delivered?.Format ?? row.File!.Format);
                    WriteOrNull(json, "entry", row.Entry);
                    json.WriteNumber("size", row.Delivered?.Size ?? row.File!.Size);
                    json.WriteString("crc32", (row.Delivered?.Crc32 ?? (uint)row.File!.Crc32).ToString("x8", CultureInfo.InvariantCulture));
                    WriteOrNull(json, "sha256", row.Delivered?.Sha256);
                    json.WriteString("status", row.Status);
                    WriteOrNull(json, "channels", row.Delivered?.Channels ?? (row.Type == MediaType.Audio ? "recorded" : null));
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>ISO 8601 local time with its offset, e.g. <c>2026-11-01T01:30:00-04:00</c>.</summary>
    public static string Local(DateTimeOffset t, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFzzz", CultureInfo.InvariantCulture);

    private static void Party(Utf8JsonWriter json, string name, string number, string partyName)
    {
        json.WriteStartObject(name);
        json.WriteString("number", number);
        json.WriteString("name", partyName);
        json.WriteEndObject();
    }

    private static void WriteOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    public static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A text cell that cannot be turned against its reader: tab and line breaks, Unicode's included (which would shift columns and rows)
    /// become spaces, other control characters are dropped, and a formula-like start is defused for spreadsheets.
    /// </summary>
    public static string Clean(string value)
    {
        if (value.Any(c => char.IsControl(c) || c is '\u2028' or '\u2029'))
        {
            var text = new StringBuilder(value.Length);
            foreach (var c in value)
            {
                if (c is '\t' or '\n' or '\r' or '\u2028' or '\u2029')
                {
                    text.Append(' ');
                }
                else if (!char.IsControl(c))
                {
                    text.Append(c);
                }
            }

            value = text.ToString();
        }

        return SpreadsheetText.Defuse(value);
    }
}
