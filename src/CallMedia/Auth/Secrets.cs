using System.Security.Cryptography;
using System.Text;

namespace CallMedia.Auth;

/// <summary>Random session ids and tokens, and the hashes under which they are stored.</summary>
public static class Secrets
{
    private const string TokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public const int TokenLength = 20;

    /// <summary>32 upper-case hex characters: 128 random bits, the JSESSIONID shape clients expect.</summary>
    public static string NewSessionId() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public static string NewToken() => RandomNumberGenerator.GetString(TokenAlphabet, TokenLength);

    public static string NewPassword() => RandomNumberGenerator.GetString(TokenAlphabet, 16);

    public static bool IsSessionIdShape(string? value) =>
        value is { Length: 32 } && value.All(c => c is (>= '0' and <= '9') or (>= 'A' and <= 'F') or (>= 'a' and <= 'f'));

    public static bool IsTokenShape(string? value) =>
        value is { Length: TokenLength } && value.All(char.IsAsciiLetterOrDigit);

    /// <summary>SHA-256 of the secret as hex. Session ids are hashed upper-cased, as clients may change their case.</summary>
    public static string HashSession(string sessionId) => Hash(sessionId.ToUpperInvariant());

    public static string HashToken(string token) => Hash(token);

    /// <summary>SHA-256 of the UTF-8 text as upper-case hex. A secret of the usual length is encoded on the stack.</summary>
    private static string Hash(string value)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        if (value.Length <= StackLength)
        {
            Span<byte> utf8 = stackalloc byte[StackLength * 3];
            SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(value, utf8)], hash);
        }
        else
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(value), hash);
        }

        return Convert.ToHexString(hash);
    }

    /// <summary>The longest secret hashed without a buffer on the heap (a session id is 32 characters, a token 20).</summary>
    private const int StackLength = 64;
}
