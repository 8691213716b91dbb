using System.Globalization;

namespace CallMedia.Hosting;

/// <summary>Reading an <c>Accept-Encoding</c> header (RFC 9110 §12.5.3), for answers the service compresses itself.</summary>
public static class AcceptEncoding
{
    private const double IdentityUnlisted = 0.0001;

    /// <summary>
    /// The coding to send among <paramref name="codings"/> (the server's order of preference, the smallest body first)
    /// and none (identity): the one the client prefers most by its q (or the <c>*</c> entry's), the earlier of
    /// <paramref name="codings"/> when equal, any of them before none when equal; null for none.
    /// </summary>
    public static string? Choose(string acceptEncoding, params string[] codings)
    {
        var (best, bestQuality) = ((string?)null, Quality(acceptEncoding, "identity"));
        for (var i = codings.Length - 1; i >= 0; i--)
        {
            var quality = Quality(acceptEncoding, codings[i]);
            if (quality > 0 && quality >= bestQuality)
            {
                (best, bestQuality) = (codings[i], quality);
            }
        }

        return best;
    }

    /// <summary>
    /// How much an Accept-Encoding value wants a coding, 0 to 1: its own entry's q (1 without one), else the <c>*</c>
    /// entry's, else 0 — for identity, not named, acceptable but after any coding named. A q that is not a number from
    /// 0 to 1 counts as 0.
    /// </summary>
    public static double Quality(string acceptEncoding, string coding)
    {
        double? own = null, any = null;
        foreach (var entry in acceptEncoding.Split(','))
        {
            var parts = entry.Split(';');
            var name = parts[0].Trim();
            var quality = 1.0;
            foreach (var parameter in parts.Skip(1).Select(p => p.Trim()))
            {
                if (parameter.StartsWith("q=", StringComparison.OrdinalIgnoreCase))
                {
                    // "NaN" and "Infinity" parse whatever the style: the range check refuses them.
                    quality = double.TryParse(parameter.AsSpan(2), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var q) && q is >= 0 and <= 1 ? q : 0;
                }
            }

            if (name.Equals(coding, StringComparison.OrdinalIgnoreCase))
            {
                own = Math.Max(own ?? 0, quality);
            }
            else if (name == "*")
            {
                any = quality;
            }
        }

        return own ?? any ?? (coding == "identity" ? IdentityUnlisted : 0);
    }
}
