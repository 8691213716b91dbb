using Microsoft.AspNetCore.Identity;

namespace CallMedia.Auth;

/// <summary>
/// Salted PBKDF2 (HMAC-SHA512, 100,000 iterations) through ASP.NET Core Identity's hasher. Verifying against
/// <see cref="DummyHash"/> for unknown names makes a failed login cost the same whatever was wrong.
/// </summary>
public static class PasswordHashing
{
    private static readonly PasswordHasher<string> Hasher = new();

    private static readonly Lazy<string> Dummy = new(() => Hasher.HashPassword(string.Empty, Guid.NewGuid().ToString("N")));

    public static string DummyHash => Dummy.Value;

    public static string Hash(string password) => Hasher.HashPassword(string.Empty, password);

    public static bool Verify(string hash, string password) =>
        Hasher.VerifyHashedPassword(string.Empty, hash, password) != PasswordVerificationResult.Failed;
}
