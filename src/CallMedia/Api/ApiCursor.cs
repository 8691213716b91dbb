using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CallMedia.Api;

/// <summary>
/// Opaque page cursors: a kind, the key of the last row handed out, and a check value, base64url-encoded. A cursor
/// that was damaged or edited, or that belongs to another list, is refused with a 400. A cursor only positions
/// within what the caller's filters and scope already allow, so it needs no secret.
/// </summary>
public static class ApiCursor
{
    public static string Write(string kind, params long[] key)
    {
        var body = kind + "." + string.Join('.', key.Select(k => k.ToString(CultureInfo.InvariantCulture)));
        return Convert.ToBase64String(Encoding.ASCII.GetBytes(body + "." + Check(body))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    public static long[] Read(string kind, string cursor, int parts)
    {
        try
        {
            var padded = cursor.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (cursor.Length % 4)) % 4);
            var fields = Encoding.ASCII.GetString(Convert.FromBase64String(padded)).Split('.');
            if (cursor.Length < 200 && fields.Length == parts + 2 && fields[0] == kind
                && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(fields[^1]), Encoding.ASCII.GetBytes(Check(string.Join('.', fields[..^1])))))
            {
                var key = new long[parts];
                for (var i = 0; i < parts; i++)
                {
                    if (!long.TryParse(fields[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out key[i]))
                    {
                        break;
                    }

                    if (i == parts - 1)
                    {
                        return key;
                    }
                }
            }
        }
        catch (FormatException)
        {
            // answered below like any other damaged cursor
        }

        throw new ApiInputException("cursor is not one this server handed out for this list (pass the 'next' value unchanged).", "cursor");
    }

    private static string Check(string body) => Convert.ToHexString(SHA256.HashData(Encoding.ASCII.GetBytes("callmedia-cursor:" + body)))[..16];
}
