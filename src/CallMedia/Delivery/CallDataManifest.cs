using System.Globalization;
using System.Text;
using CallMedia.Calls;
using CallMedia.Hosting;

namespace CallMedia.Delivery;

/// <summary>The rows of <c>calldata.txt</c> (API.md §3 "The zip").</summary>
public sealed class CallDataManifest
{
    public const string FileName = "calldata.txt";

    private const string Header =
        "couple_id\tsid\tstart_utc\tstop_utc\tcalling_number\tcalling_name\tcalled_number\tcalled_name\ttype\tentry\tsize\tcrc32\tstatus\n";

    private readonly StringBuilder _text = new(Header);

    public void Add(Couple couple, int type, string? entry, MediaFile? file, string status)
    {
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
            file?.Size.ToString(CultureInfo.InvariantCulture) ?? "",
            file is null ? "" : file.Crc32.ToString("x8", CultureInfo.InvariantCulture),
            status);
        _text.Append('\n');
    }

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(_text.ToString());

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
