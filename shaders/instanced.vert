#version 330
// One mesh drawn once per instance (agents, entities). Per-instance data comes
// from a buffer texture filled from numpy each frame: two texels per instance,
//   texel 0: x, y, z (ground height), heading (radians, 0 = +x)
//   texel 1: r, g, b, scale
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;

in vec4 p3d_Vertex;
in vec3 p3d_Normal;

out vec3 v_color;
out vec3 v_normal;

void main() {
    vec4 a = texelFetch(instances, gl_InstanceID * 2);
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);
    float s = sin(a.w), c = cos(a.w);
    vec3 v = p3d_Vertex.xyz * b.w;
    vec3 p = vec3(c * v.x - s * v.y, s * v.x + c * v.y, v.z) + a.xyz;
    v_normal = vec3(c * p3d_Normal.x - s * p3d_Normal.y, s * p3d_Normal.x + c * p3d_Normal.y, p3d_Normal.z);
    v_color = b.rgb;
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(p, 1.0);
}
