using CallMedia.Hosting;

namespace CallMedia.Auth;

public static class AuthRegistration
{
    /// <summary>Users and roles, sessions, the login throttle, the caller resolution of every endpoint.</summary>
    public static IServiceCollection AddAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<SessionOptions>(configuration, SessionOptions.Section);
        services.AddValidatedOptions<LoginOptions>(configuration, LoginOptions.Section);
        services.AddSingleton<UserStore>();
        services.AddSingleton<RoleStore>();
        services.AddSingleton<AuthCache>();
        services.AddHostedService<AuthChangeListener>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<LoginThrottle>();
        services.AddSingleton<Callers>();
        services.AddSingleton<SignIn>();
        return services;
    }
}
