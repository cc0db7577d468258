#version 330
// Soft lighting shared by instanced meshes and the ground: a hemisphere ambient
// (sky above, ground bounce below) plus one sun, both tinted by the time of day.
uniform vec3 sun_dir;      // towards the sun, world space, normalised
uniform vec3 sun_color;    // sun light (dims and warms at dusk)
uniform vec3 sky_color;    // ambient from above
uniform vec3 ground_color; // ambient from below

in vec3 v_color;
in vec3 v_normal;
out vec4 frag;

void main() {
    vec3 n = normalize(v_normal);
    vec3 ambient = mix(ground_color, sky_color, 0.5 + 0.5 * n.z);
    float diffuse = max(dot(n, sun_dir), 0.0);
    vec3 light = ambient + sun_color * diffuse;
    frag = vec4(v_color * light, 1.0);
}
