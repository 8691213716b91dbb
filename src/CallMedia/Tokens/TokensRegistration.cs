using CallMedia.Auth;
using CallMedia.Hosting;

namespace CallMedia.Tokens;

public static class TokensRegistration
{
    /// <summary>Download tokens: issue, redemption, and their revocation when Auth ends a session or a user.</summary>
    public static IServiceCollection AddTokens(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<TokenOptions>(configuration, TokenOptions.Section);
        services.AddSingleton<RedemptionBatcher>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<TokenIssue>();
        services.AddSingleton<IGrantRevoker, TokenRevoker>();
        return services;
    }
}
